"""JavaScript's value rules, written once for every package that reproduces Node's answers.

The reference (Segment's destination-subscriptions, mapping-kit, ajv and the Amplitude action
code) runs in Node; triggers, mapping, fields and destination import these rules from here:

- :mod:`.undefined`: the one ``UNDEFINED`` sentinel (``None`` is JSON ``null``);
- :mod:`.numbers`: ``Number::toString``, ``Number(string)``, ``Math.round``;
- :mod:`.strings`: UTF-16 code units (``length``, indexing) and JS whitespace;
- :mod:`.values`: truthiness, ``String(value)``, type names, built-in functions;
- :mod:`.objects`: property order, array indices, spread, prototype members;
- :mod:`.stringify`: ``JSON.stringify``.

The tests in ``tests/js`` check each rule against answers recorded from Node.
"""

from .numbers import (
    MAX_SAFE_INTEGER,
    as_number,
    js_number,
    js_numbers,
    normalize_number,
    number_to_string,
    round_half_up,
    string_to_number,
    to_number,
)
from .objects import FUNCTION_NAMES, PROTOTYPES, is_array_index, keys_in_order, spread, with_key_order
from .stringify import json_round_trip, json_stringify
from .strings import WHITESPACE, from_utf16, has_surrogates, to_utf16, trim, utf16_len, utf16_units
from .undefined import UNDEFINED, Undefined
from .values import JSFunction, real_type_of, to_string, truthy

__all__ = [
    "FUNCTION_NAMES",
    "JSFunction",
    "MAX_SAFE_INTEGER",
    "PROTOTYPES",
    "UNDEFINED",
    "Undefined",
    "WHITESPACE",
    "as_number",
    "from_utf16",
    "has_surrogates",
    "is_array_index",
    "js_number",
    "js_numbers",
    "json_round_trip",
    "json_stringify",
    "keys_in_order",
    "normalize_number",
    "number_to_string",
    "real_type_of",
    "round_half_up",
    "spread",
    "string_to_number",
    "to_number",
    "to_string",
    "to_utf16",
    "trim",
    "truthy",
    "utf16_len",
    "utf16_units",
    "with_key_order",
]
