"""ajv's checks as the reference's validator runs them, one keyword at a time (the general path,
with the reference's error messages); :mod:`.validate` compiles the fast path over it."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from amprelay.js import js_number, number_to_string, real_type_of, string_to_number

from .errors import (
    FieldIssue,
    bound_message,
    enum_message,
    format_message,
    length_message,
    required_message,
    type_message,
)
from .formats import ALWAYS_VALID_FORMATS, NUMBER_FORMATS, STRING_FORMATS
from .schema import SchemaNode

_COERCIBLE = frozenset({"string", "number", "integer", "boolean", "null"})
_NOTHING: Any = object()
_isfinite = math.isfinite
_NoneType = type(None)


def _is_type(t: str, v: Any) -> bool:
    tv = type(v)
    if t == "string":
        return tv is str
    if t == "number":
        return tv is int or (tv is float and _isfinite(v))
    if t == "integer":
        return tv is int or (tv is float and _isfinite(v) and v.is_integer())
    if t == "boolean":
        return tv is bool
    if t == "null":
        return v is None
    if t == "array":
        return tv is list
    if t == "object":
        return tv is dict
    return False


def _js_equal(a: Any, b: Any) -> bool:
    """``===`` for primitives, fast-deep-equal for arrays/objects (what ajv's ``enum`` uses)."""
    ta, tb = real_type_of(a), real_type_of(b)
    if ta != tb:
        return False
    if ta == "array":
        return len(a) == len(b) and all(_js_equal(x, y) for x, y in zip(a, b, strict=True))
    if ta == "object":
        return a.keys() == b.keys() and all(_js_equal(a[k], b[k]) for k in a)
    return a == b


def escape_pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class Checker:
    """A compiled (sub)schema: ``check(value, pointer, issues) -> value`` (the coerced value)."""

    __slots__ = (
        "title", "types", "check_types", "coerce_to", "unwrap_type", "enum", "minimum", "maximum",
        "num_format", "min_length", "max_length", "str_format", "format_name", "items", "props",
        "prop_list", "required", "additional", "object_type_error", "fast_types", "has_num_kw",
        "has_str_kw", "fast_strings", "fast_float",
    )

    def __init__(self, node: SchemaNode) -> None:
        self.title = node.title
        self.types = node.types
        self.coerce_to = tuple(t for t in node.types if t in _COERCIBLE or t == "array")
        has_object_rules = node.properties is not None
        has_rules_for_single = len(node.types) == 1 and (
            node.types[0] == "object" and has_object_rules
        )
        self.check_types = bool(node.types) and not (not self.coerce_to and has_rules_for_single)
        self.object_type_error = not self.check_types and node.types == ("object",)
        self.unwrap_type = node.types[0] if len(node.types) == 1 else None
        self.enum = node.enum
        self.minimum = node.minimum
        self.maximum = node.maximum
        self.min_length = node.min_length
        self.max_length = node.max_length
        self.num_format: Callable[[float], bool] | None = None
        self.str_format: Callable[[str], bool] | None = None
        self.format_name = node.format
        fmt = node.format
        if fmt is not None and fmt not in ALWAYS_VALID_FORMATS:
            if fmt in STRING_FORMATS:
                self.str_format = STRING_FORMATS[fmt]
            elif fmt in NUMBER_FORMATS:
                self.num_format = NUMBER_FORMATS[fmt]
            else:
                raise ValueError(f'unknown format "{fmt}" ignored in schema at path "#"')
        self.has_num_kw = self.minimum is not None or self.maximum is not None or self.num_format is not None
        self.has_str_kw = self.min_length is not None or self.max_length is not None or self.str_format is not None
        self.items = Checker(node.items) if node.items is not None else None
        self.props: dict[str, Checker] | None = None
        self.prop_list: tuple[tuple[str, str, Checker], ...] = ()
        if node.properties is not None:
            self.props = {k: Checker(n) for k, n in node.properties.items()}
            self.prop_list = tuple((k, "/" + escape_pointer(k), c) for k, c in self.props.items())
        self.required = node.required
        self.additional = node.additional_properties
        # Python types that need no work at all (right type, no keyword to check).
        fast: set[type] = set()
        if self.enum is None:
            for t in node.types:
                if t == "string" and not self.has_str_kw:
                    fast.add(str)
                elif t in ("number", "integer") and not self.has_num_kw:
                    fast.add(int)
                elif t == "boolean":
                    fast.add(bool)
                elif t == "null":
                    fast.add(_NoneType)
                elif t == "object" and self.props is None:
                    fast.add(dict)
                elif t == "array" and self.items is None:
                    fast.add(list)
        self.fast_types = frozenset(fast)
        # Finite floats accepted with no work (a float needs a finiteness check, so it is not in fast_types).
        self.fast_float = self.enum is None and not self.has_num_kw and "number" in node.types
        # String values accepted with no work: the choices of a plain string field with choices.
        self.fast_strings: frozenset[str] = frozenset()
        if (
            self.enum is not None and "string" in node.types and not self.has_str_kw
            and all(type(e) is str or e is None for e in self.enum)
        ):
            self.fast_strings = frozenset(e for e in self.enum if type(e) is str)

    # -- coercion ---------------------------------------------------------------------------------

    def _coerce(self, data: Any) -> tuple[Any, Any]:
        """(coerced value or _NOTHING, the value the remaining keywords look at)."""
        local = data
        if type(data) is list and len(data) == 1:
            local = data[0]
            if self.unwrap_type is not None and _is_type(self.unwrap_type, local):
                return local, local
        tl = type(local)
        is_num = (tl is int or tl is float) and tl is not bool
        for t in self.coerce_to:
            if t == "string":
                if is_num:
                    v = number_to_string(local)
                    return v, v
                if tl is bool:
                    v = "true" if local else "false"
                    return v, v
                if local is None:
                    return "", ""
            elif t == "number" or t == "integer":
                if tl is bool:
                    return int(local), int(local)
                if local is None:
                    return 0, 0
                if tl is str and local:
                    x = string_to_number(local)
                    if x == x and (t == "number" or math.isinf(x) or x % 1 == 0):
                        n = js_number(x)  # as JSON.stringify writes it (an int when integral)
                        return n, n
            elif t == "boolean":
                if (tl is str and local == "false") or (is_num and local == 0) or local is None:
                    return False, False
                if (tl is str and local == "true") or (is_num and local == 1):
                    return True, True
            elif t == "null":
                if (tl is str and local == "") or (is_num and local == 0) or local is False:
                    return None, None
            elif t == "array":
                if tl is str or is_num or tl is bool or local is None:
                    items = [local]
                    return items, items
        return _NOTHING, local

    # -- validation -------------------------------------------------------------------------------

    def check(self, data: Any, ptr: str, issues: list[FieldIssue]) -> Any:
        if type(data) in self.fast_types:
            return data
        local = data
        result = data
        if self.check_types:
            for t in self.types:
                if _is_type(t, data):
                    break
            else:
                if self.coerce_to:
                    coerced, local = self._coerce(data)
                    if coerced is _NOTHING:
                        issues.append(FieldIssue(ptr, type_message(self.title, ptr, self.types, local)))
                    else:
                        result = coerced
                else:
                    issues.append(FieldIssue(ptr, type_message(self.title, ptr, self.types, local)))
        enum = self.enum
        if enum is not None:
            for allowed in enum:
                if _js_equal(local, allowed):
                    break
            else:
                issues.append(FieldIssue(ptr, enum_message(self.title, ptr, enum)))
        tl = type(local)
        if self.has_num_kw and (tl is int or (tl is float and _isfinite(local))):
            if self.maximum is not None and local > self.maximum:
                issues.append(FieldIssue(ptr, bound_message(self.title, ptr, self.maximum, "max")))
            if self.minimum is not None and local < self.minimum:
                issues.append(FieldIssue(ptr, bound_message(self.title, ptr, self.minimum, "min")))
            if self.num_format is not None and not self.num_format(local):
                issues.append(FieldIssue(ptr, format_message(self.title, ptr, self.format_name or "")))
        if self.has_str_kw and tl is str:
            if self.max_length is not None and len(local) > self.max_length:
                issues.append(
                    FieldIssue(ptr, length_message(self.title, ptr, self.max_length, len(local), "max"))
                )
            if self.min_length is not None and len(local) < self.min_length:
                issues.append(
                    FieldIssue(ptr, length_message(self.title, ptr, self.min_length, len(local), "min"))
                )
            if self.str_format is not None and not self.str_format(local):
                issues.append(FieldIssue(ptr, format_message(self.title, ptr, self.format_name or "")))
        items = self.items
        if items is not None and tl is list:
            new: list[Any] | None = None
            for i, item in enumerate(local):
                r = items.check(item, f"{ptr}/{i}", issues)
                if r is not item:
                    if new is None:
                        new = list(local)
                    new[i] = r
            if new is not None:
                result = new
        if self.props is not None:
            if tl is dict:
                result = self._check_object(local, ptr, issues)
            elif self.object_type_error:
                issues.append(FieldIssue(ptr, type_message(self.title, ptr, self.types, local)))
        return result

    def _check_object(self, obj: dict[str, Any], ptr: str, issues: list[FieldIssue]) -> dict[str, Any]:
        for key in self.required:
            if key not in obj:
                issues.append(FieldIssue(ptr, required_message(self.title, ptr, key)))
        props = self.props
        assert props is not None
        out: dict[str, Any] | None = None
        if not self.additional:
            for key in obj:
                if key not in props:
                    out = {k: v for k, v in obj.items() if k in props}
                    break
        src = obj if out is None else out
        for key, suffix, checker in self.prop_list:
            if key in src:
                v = src[key]
                r = checker.check(v, ptr + suffix, issues)
                if r is not v:
                    if out is None:
                        out = dict(obj)
                    out[key] = r
        return obj if out is None else out


_MISSING: Any = object()
