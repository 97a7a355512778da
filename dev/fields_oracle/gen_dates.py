import json
import random
import sys

random.seed(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
toks = [
    "-",
    "/",
    ":",
    ".",
    "+",
    " ",
    "T",
    "t",
    "Z",
    "z",
    "(",
    ")",
    "(x)",
    ",",
    "  ",
    "\t",
    "GMT",
    "UTC",
    "UT",
    "EST",
    "PDT",
    "Jan",
    "February",
    "May",
    "dec",
    "Mon",
    "Tuesday",
    "am",
    "PM",
    "x",
    "abc",
    "\u00a0",
    "é",
    "\n",
    "::",
    "..",
    "0",
]


def num():
    k = random.choice([1, 1, 2, 2, 2, 3, 4, 4, 4, 5, 6, 7, 8, 9, 10, 13, 14])
    return "".join(random.choice("0123456789") for _ in range(k))


def rand():
    r = random.random()
    if r < 0.25:
        # iso-ish
        y = random.choice(
            ["2023", "1999", "0000", "0099", "9999", "+002023", "-000001", "-000000", "275760", "+275760"]
        )
        parts = [y]
        if random.random() < 0.8:
            parts.append(random.choice("-/") + random.choice(["01", "1", "12", "13", "00", "5", ""]))
        if random.random() < 0.7:
            parts.append(random.choice("-/") + random.choice(["01", "31", "32", "00", "5", ""]))
        if random.random() < 0.7:
            parts.append(
                random.choice(["T", "t", " ", "", "  "]) + random.choice(["00", "12", "24", "25", "5", "1"])
            )
            if random.random() < 0.8:
                parts.append(":" + random.choice(["00", "59", "60", "5", ""]))
            if random.random() < 0.6:
                parts.append(":" + random.choice(["00", "59", "60", "5"]))
            if random.random() < 0.5:
                parts.append(random.choice([".", ":"]) + num())
            if random.random() < 0.6:
                parts.append(
                    random.choice(
                        [
                            "Z",
                            "z",
                            "+05:30",
                            "-0800",
                            "+24:00",
                            "+1",
                            " GMT",
                            " GMT+0530",
                            "+05",
                            " PM",
                            "pm",
                            " (UTC)",
                        ]
                    )
                )
        return "".join(parts)
    if r < 0.35:
        return random.choice([" ", "", "\t", "\u3000"]) + num() + random.choice(["", " ", "Z"])
    n = random.randint(1, 8)
    return "".join(random.choice([num, lambda: random.choice(toks)])() for _ in range(n))


fixed = [
    "1683000000000",
    "0",
    "2023",
    "20230501",
    " 123",
    "2023-05-01",
    "2023-05-01 12:34:56",
    "2023-05-01T12:34:56+0530",
    "Mon, 01 May 2023 12:00:00 GMT",
    "2021-08-17T15:21:15.449Z",
    "not-a-date",
    "2023-13-45T99:99:99Z",
    "abc",
    "true",
    "Jan 5",
    "12/31/2023",
    "2023-05-01T12:00:00.000+05:30",
    "Thu, 01 Jan 1970 00:00:00 +0000",
    "1e3",
    "-5",
    "0.5",
    "NaN",
    "Infinity",
    "1e+21",
    "8640000000000",
    "8640000000001",
    "-8640000000000",
    "1683000000",
    "  2023-01-01  ",
    "2023-01-01Z",
    "2023-02-30",
    "2023-1-1",
    "2023/01/01",
    "01/02/03",
    "1/2",
    "May 2023",
    "2023 May 5",
    "5 May 99",
    "May 5 12:30 PM",
    "12:30",
    "T12:00",
    "+002023-01-01T00:00:00Z",
    "2023-01-01T24:00:00Z",
    "2023-01-01T24:00:01Z",
    "2023-06-15T10:00:00 GMT+2",
    "2023-06-15 10:00 pm",
    "Sat Jan 01 2000 00:00:00 GMT+0000 (Coordinated Universal Time)",
    "2023\u00002",
    "2023-01-01T00:00:00.1234567890Z",
]
out = [{"id": f"f{i}", "date": s} for i, s in enumerate(fixed)]
out += [{"id": f"r{i}", "date": rand()} for i in range(N)]
for o in out:
    print(json.dumps(o))
