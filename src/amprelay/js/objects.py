"""JavaScript objects: property order (``Object.keys``), array indices, spread, prototypes.

The prototype tables list what a JSON value inherits in Node 20 (``Object.getOwnPropertyNames``
of each prototype, recorded by ``dev/js_oracle.js``): reading ``obj.constructor`` or
``"".trimLeft`` yields a function, not ``undefined``, in both the trigger and mapping languages.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FUNCTION_NAMES",
    "PROTOTYPES",
    "is_array_index",
    "keys_in_order",
    "spread",
    "with_key_order",
]

_MAX_INDEX = 2**32 - 2  # the largest array index


def is_array_index(key: str) -> bool:
    """Whether JavaScript treats ``key`` as an array index: canonical digits below 2**32 - 1
    (``"0"``, ``"17"``; not ``"01"``, ``"-1"``, ``"1.0"``, ``"²"``)."""
    return key.isascii() and key.isdigit() and (key == "0" or key[0] != "0") and int(key) <= _MAX_INDEX


def keys_in_order(obj: dict[str, Any]) -> list[str]:
    """``Object.keys(obj)``: array-index keys first, ascending, then the others in insertion order."""
    index_keys = [k for k in obj if "0" <= k < ":" and is_array_index(k)]
    if not index_keys:
        return list(obj)
    index_keys.sort(key=int)
    return index_keys + [k for k in obj if not is_array_index(k)]


def with_key_order(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` in JavaScript's property order (``obj`` itself when that is its order already)."""
    if len(obj) > 8 and min(obj)[:1] > "9":  # one C-level pass: no key starts with a digit
        return obj
    for k in obj:  # a plain loop: cheaper than any() over a generator
        if "0" <= k < ":" and is_array_index(k):  # starts with an ASCII digit
            return {k: obj[k] for k in keys_in_order(obj)}
    return obj


def spread(value: Any) -> dict[str, Any]:
    """The own enumerable properties ``{...value}`` copies (a string spreads its characters)."""
    t = type(value)
    if t is dict:
        return value
    if t is str or t is list:
        return {str(i): item for i, item in enumerate(value)}
    return {}


# name -> ``length`` of each function a prototype holds (Object.prototype's are inherited by all).
_OBJECT = {
    "__defineGetter__": 2, "__defineSetter__": 2, "__lookupGetter__": 1, "__lookupSetter__": 1,
    "constructor": 1, "hasOwnProperty": 1, "isPrototypeOf": 1, "propertyIsEnumerable": 1,
    "toLocaleString": 0, "toString": 0, "valueOf": 0,
}
_ARRAY = {
    "at": 1, "concat": 1, "copyWithin": 2, "entries": 0, "every": 1, "fill": 1, "filter": 1,
    "find": 1, "findIndex": 1, "findLast": 1, "findLastIndex": 1, "flat": 0, "flatMap": 1,
    "forEach": 1, "includes": 1, "indexOf": 1, "join": 1, "keys": 0, "lastIndexOf": 1, "map": 1,
    "pop": 0, "push": 1, "reduce": 1, "reduceRight": 1, "reverse": 0, "shift": 0, "slice": 2,
    "some": 1, "sort": 1, "splice": 2, "toLocaleString": 0, "toReversed": 0, "toSorted": 1,
    "toSpliced": 2, "toString": 0, "unshift": 1, "values": 0, "with": 2,
}
_STRING = {
    "anchor": 1, "at": 1, "big": 0, "blink": 0, "bold": 0, "charAt": 1, "charCodeAt": 1,
    "codePointAt": 1, "concat": 1, "endsWith": 1, "fixed": 0, "fontcolor": 1, "fontsize": 1,
    "includes": 1, "indexOf": 1, "isWellFormed": 0, "italics": 0, "lastIndexOf": 1, "link": 1,
    "localeCompare": 1, "match": 1, "matchAll": 1, "normalize": 0, "padEnd": 1, "padStart": 1,
    "repeat": 1, "replace": 2, "replaceAll": 2, "search": 1, "slice": 2, "small": 0, "split": 2,
    "startsWith": 1, "strike": 0, "sub": 0, "substr": 2, "substring": 2, "sup": 0,
    "toLocaleLowerCase": 0, "toLocaleString": 0, "toLocaleUpperCase": 0, "toLowerCase": 0,
    "toString": 0, "toUpperCase": 0, "toWellFormed": 0, "trim": 0, "trimEnd": 0, "trimLeft": 0,
    "trimRight": 0, "trimStart": 0, "valueOf": 0,
}
_NUMBER = {"toExponential": 1, "toFixed": 1, "toLocaleString": 0, "toPrecision": 1, "toString": 1, "valueOf": 0}
_BOOLEAN = {"toString": 0, "valueOf": 0}
_FUNCTION = {"apply": 2, "bind": 1, "call": 1, "toString": 0}

#: constructor name -> {property: length} for every function a value of that kind inherits
#: (``constructor`` included; ``__proto__`` is an accessor, not listed).
PROTOTYPES: dict[str, dict[str, int]] = {
    ctor: {**_OBJECT, **own}
    for ctor, own in (
        ("Object", {}), ("Array", _ARRAY), ("String", _STRING), ("Number", _NUMBER),
        ("Boolean", _BOOLEAN), ("Function", _FUNCTION),
    )
}

#: property -> the function's ``name`` where it differs (``"".trimLeft.name === "trimStart"``).
FUNCTION_NAMES = {"trimLeft": "trimStart", "trimRight": "trimEnd"}
