"""Random (fields, payload) cases for the ajv oracle."""

import json
import random
import sys

random.seed(int(sys.argv[1]))
N = int(sys.argv[2])

FIELDSETS = {
    "purchase": {
        "event_type": {"label": "Event Type", "type": "string", "required": True},
        "user_id": {"label": "User ID", "type": "string", "allowNull": True},
        "time": {"label": "Timestamp", "type": "datetime"},
        "price": {"label": "Price", "type": "number"},
        "quantity": {"label": "Quantity", "type": "integer"},
        "use_batch_endpoint": {"label": "Use Batch Endpoint", "type": "boolean"},
        "event_properties": {"label": "Event Properties", "type": "object"},
        "min_id_length": {"label": "Minimum ID Length", "type": "integer", "allowNull": True},
        "products": {
            "label": "Products",
            "type": "object",
            "multiple": True,
            "additionalProperties": True,
            "properties": {
                "price": {"label": "Price", "type": "number"},
                "quantity": {"label": "Quantity", "type": "integer"},
                "revenue": {"label": "Revenue", "type": "number"},
                "productId": {"label": "Product ID", "type": "string"},
                "revenueType": {"label": "Revenue Type", "type": "string"},
            },
        },
        "library2": {
            "label": "Library",
            "type": "object",
            "properties": {
                "behavior": {
                    "label": "Behavior",
                    "type": "string",
                    "choices": [
                        {"label": "Auto", "value": "auto"},
                        {"label": "Use Mapping", "value": "use_mapping"},
                    ],
                    "required": True,
                },
                "mapping": {"label": "Mapping", "type": "string"},
            },
        },
        "utm_properties": {
            "label": "UTM Properties",
            "type": "object",
            "properties": {
                "utm_source": {"label": "UTM Source", "type": "string"},
                "utm_term": {"label": "UTM Term", "type": "string"},
            },
        },
        "setOnce": {
            "label": "Set Once",
            "type": "object",
            "additionalProperties": True,
            "properties": {"initial_referrer": {"label": "Initial Referrer", "type": "string"}},
        },
    },
    "misc": {
        "a_str": {"label": "A Str", "type": "string", "minimum": 2, "maximum": 5},
        "a_num": {"label": "", "type": "number", "minimum": 1, "maximum": 10},
        "tags": {"label": "Tags", "type": "string", "multiple": True},
        "nums": {"label": "Nums", "type": "number", "multiple": True, "allowNull": True},
        "when": {"label": "When", "type": "datetime", "allowNull": True},
        "whens": {"label": "Whens", "type": "datetime", "multiple": True},
        "flag": {"label": "Flag", "type": "boolean", "allowNull": True, "required": True},
        "color": {"label": "Color", "type": "string", "choices": ["red", "green"], "allowNull": True},
        "colors": {"label": "Colors", "type": "string", "choices": ["red", "green"], "multiple": True},
        "site": {"label": "Site", "type": "string", "format": "uri"},
        "mail": {"label": "Mail", "type": "string", "format": "email"},
        "dt": {"label": "DT", "type": "string", "format": "date-time"},
        "secret": {"label": "Secret", "type": "password"},
        "body": {"label": "Body", "type": "text"},
        "obj_null": {"label": "Obj Null", "type": "object", "allowNull": True},
        "nested": {
            "label": "Nested",
            "type": "object",
            "allowNull": True,
            "properties": {
                "n1": {"label": "N1", "type": "integer", "required": True},
                "n2": {"label": "N2", "type": "boolean", "allowNull": True},
                "n~/3": {"label": "", "type": "string"},
            },
        },
        "empty_props": {"label": "Empty Props", "type": "object", "properties": {}},
        "int_choice": {
            "label": "Int Choice",
            "type": "integer",
            "choices": [{"label": "one", "value": 1}, {"label": "two", "value": 2}],
        },
    },
}

SCALARS = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2,
    2.5,
    12.5,
    1e21,
    1e-7,
    1683000000000,
    0.0,
    -0.5,
    3.0,
    "",
    " ",
    "x",
    "abc",
    "true",
    "false",
    "1",
    "0",
    "2.0",
    "2.5",
    " 7 ",
    "1e3",
    "12,50",
    "$9.99",
    "0x10",
    "Infinity",
    "NaN",
    "-0",
    "1e400",
    "red",
    "green",
    "auto",
    "use_mapping",
    "2023-05-01",
    "2021-08-17T15:21:15.449Z",
    "2023-13-45T99:99:99Z",
    "1683000000000",
    "https://example.com/a?b=1",
    "a@b.co",
    "not-a-date",
    "Jan 5 2023",
    "2023-05-01T12:00:00+0530",
    "12345",
    "hello world",
    "ab",
    "abcdef",
    "\u00e9\u00e9",
    "1.5",
]


def val(depth=0):
    r = random.random()
    if depth > 2 or r < 0.6:
        return random.choice(SCALARS)
    if r < 0.8:
        return [val(depth + 1) for _ in range(random.choice([0, 1, 1, 1, 2, 3]))]
    keys = [
        "price",
        "quantity",
        "productId",
        "revenue",
        "x",
        "behavior",
        "mapping",
        "utm_source",
        "n1",
        "n2",
        "n~/3",
        "initial_referrer",
        "foo",
    ]
    return {random.choice(keys): val(depth + 1) for _ in range(random.choice([0, 1, 2, 3, 4]))}


GOOD = {
    "string": ["x", "abc", 5, 12.5, True, ["y"], "", None, "red", "ab"],
    "number": [1, 2.5, "12.50", " 7 ", True, None, "", ["3"], 0],
    "integer": [1, "3", "2.0", True, False, None, [4], 0],
    "boolean": [True, False, "true", "false", 1, 0, None, [True]],
    "datetime": [
        "2023-05-01",
        "2021-08-17T15:21:15.449Z",
        1683000000000,
        0,
        "1683000000000",
        [5],
        None,
        "Mon, 01 May 2023 12:00:00 GMT",
    ],
    "password": ["s", 1],
    "text": ["t", 2],
}


def good(spec, depth=0):
    if spec.get("multiple") and random.random() < 0.7:
        sub = dict(spec)
        sub.pop("multiple")
        return [good(sub, depth + 1) for _ in range(random.randint(0, 3))]
    if spec.get("choices") and random.random() < 0.6:
        c = random.choice(spec["choices"])
        return c["value"] if isinstance(c, dict) else c
    if spec["type"] == "object":
        props = spec.get("properties") or {"k": {"type": "string"}, "n": {"type": "number"}}
        return {k: good(v, depth + 1) for k, v in props.items() if random.random() < 0.7}
    return random.choice(GOOD[spec["type"]])


for i in range(N):
    name = random.choice(list(FIELDSETS))
    fields = FIELDSETS[name]
    keys = list(fields) + ["unknown", "other"]
    payload = {}
    for k in random.sample(keys, random.randint(0, min(7, len(keys)))):
        payload[k] = good(fields[k]) if k in fields and random.random() < 0.8 else val()
    if random.random() < 0.8:
        for k, spec in fields.items():
            if spec.get("required") and k not in payload:
                payload[k] = good(spec)
    print(json.dumps({"id": f"p{i}", "fieldset": name, "fields": fields, "payload": payload}))
