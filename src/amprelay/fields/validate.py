"""Payload validation as actions-core does it after mapping: ``removeEmptyValues``, ``arrifyFields``,
then ajv 8 with ``{coerceTypes: 'array', removeAdditional: true, allErrors: true, strictNumbers}`` on
the schema ``fieldsToJsonSchema`` generates, with errors worded by ``@segment/ajv-human-errors``.

ajv details that are reproduced on purpose:
* coercion happens in place of the value (here: the returned payload holds the coerced values; input
  containers are never mutated, changed ones are copied);
* a one-element array is unwrapped for a scalar type, but for a multi-type schema (``allow_null``
  fields, ``datetime``) the unwrapped value is never accepted as is (ajv ANDs the type checks there), so
  ``["x"]`` for a nullable string is an error "... must be a string or null but it was a string" while
  ``[5]`` becomes ``"5"``;
* type coercions: to string from number/boolean/null; to number/integer from boolean/null/numeric
  strings (JS ``+s``); to boolean from "true"/"false"/1/0/null; to null from ""/0/false; to array from
  any scalar; the first type of the schema that can take the value wins;
* after a failed coercion the remaining keywords still run on the (unwrapped) value, so ``{}`` for a
  string field with choices reports both the type and the enum errors;
* objects with declared properties drop undeclared keys unless ``additional_properties``;
* issues are ordered as ajv reports them: missing required fields first, then fields in declaration
  order; within a value: type, enum, number bounds, string length, format, items, properties.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from amprelay.js import normalize_number, number_to_string, real_type_of, string_to_number

from .dates import is_date_like
from .empty import ABSENT, remove_empty_values
from .errors import (
    FieldIssue,
    PayloadValidationError,
    bound_message,
    enum_message,
    format_message,
    length_message,
    required_message,
    type_message,
)
from .formats import ALWAYS_VALID_FORMATS, NUMBER_FORMATS, STRING_FORMATS
from .model import InputField
from .schema import SchemaNode, fields_to_schema

__all__ = ["Validator", "compile_validator", "validate_payload"]

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


def _escape_pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class _Checker:
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
        self.items = _Checker(node.items) if node.items is not None else None
        self.props: dict[str, _Checker] | None = None
        self.prop_list: tuple[tuple[str, str, _Checker], ...] = ()
        if node.properties is not None:
            self.props = {k: _Checker(n) for k, n in node.properties.items()}
            self.prop_list = tuple((k, "/" + _escape_pointer(k), c) for k, c in self.props.items())
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
                        v = normalize_number(x)
                        return v, v
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
                    v = [local]
                    return v, v
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


class _Invalid(Exception):
    """Raised by a fast path when a value needs the exact (slow) path to report its issues."""


_INVALID = _Invalid()
_MISSING: Any = object()


def _prop_fast_table(checker: _Checker) -> dict[str, tuple[frozenset[type], bool, frozenset[str], bool]]:
    assert checker.props is not None
    return {k: (c.fast_types, "null" in c.types, c.fast_strings, c.fast_float) for k, c in checker.props.items()}


_FieldFn = tuple[Callable[[Any], Any], frozenset[type], bool]


def _compile_field(node: SchemaNode, checker: _Checker, ptr: str) -> _FieldFn:
    """One root field's whole pipeline (removeEmptyValues, arrifyFields, ajv) as a closure returning the
    value for the payload, ``ABSENT`` when the key goes away, or raising ``_Invalid`` on any issue;
    with the types the closure returns unchanged whatever the value, and whether it does so for
    every non-empty string (what a generated shape checks inline, see :meth:`Validator._shape_fn`)."""
    fast = checker.fast_types
    fast_strings = checker.fast_strings
    fast_float = checker.fast_float
    nullable = "null" in node.types
    arrify = node.types == ("array",)

    def exact(v: Any) -> Any:
        if v is None:
            if not nullable:
                return ABSENT
        elif type(v) is str:
            if not v:
                return ABSENT
        elif type(v) is dict or type(v) is list:
            v = remove_empty_values(v, node)
            if v is ABSENT:
                return ABSENT
        if arrify and type(v) is not list and v is not None:
            v = [v]
        if type(v) in fast:
            return v
        issues: list[FieldIssue] = []
        r = checker.check(v, ptr, issues)
        if issues:
            raise _INVALID
        return r

    if checker.props is not None:  # an object with declared properties
        table = _prop_fast_table(checker)
        additional = checker.additional
        required = checker.required

        def declared_object(v: Any) -> Any:
            if type(v) is not dict:
                return exact(v)
            drop = False
            for k, x in v.items():
                entry = table.get(k)
                if entry is None:
                    if not additional:
                        drop = True
                    continue
                tx = type(x)
                if tx in entry[0] or (tx is str and x in entry[2]) or (tx is float and entry[3] and x - x == 0):
                    continue
                if x is None and not entry[1]:
                    drop = True
                    continue
                return exact(v)
            for r in required:
                if v.get(r) is None:
                    return exact(v)
            if not drop:
                return v
            return {
                k: x for k, x in v.items()
                if (k in table and (x is not None or table[k][1])) or (k not in table and additional)
            }

        return declared_object, frozenset(), False

    items = checker.items
    if items is not None and items.props is not None and items.check_types is False:  # multiple objects
        item_table = _prop_fast_table(items)
        item_additional = items.additional
        item_required = items.required

        def object_list(v: Any) -> Any:
            if type(v) is not list:
                return exact(v)
            for item in v:
                if type(item) is not dict:
                    return exact(v)
                for k, x in item.items():
                    entry = item_table.get(k)
                    if entry is None:
                        if not item_additional:
                            return exact(v)
                        continue
                    tx = type(x)
                    if tx in entry[0] or (tx is str and x in entry[2]) or (tx is float and entry[3] and x - x == 0):
                        continue
                    return exact(v)
                for r in item_required:
                    if r not in item:
                        return exact(v)
            return v

        return object_list, frozenset(), False

    if checker.str_format is is_date_like and items is None and checker.enum is None and not checker.has_num_kw:
        # the format is the only string keyword (has_str_kw counts it too)
        no_length = checker.min_length is None and checker.max_length is None

        def date_like(v: Any) -> Any:
            if type(v) is str:
                if not v:
                    return ABSENT
                if no_length and is_date_like(v):
                    return v
            elif type(v) is int:
                return v
            return exact(v)

        return date_like, frozenset((int,)), False

    def scalar(v: Any) -> Any:
        t = type(v)
        if t in fast:
            if t is str and not v:
                return ABSENT
            return v
        if t is str and v in fast_strings:
            return v
        if t is float and fast_float and v - v == 0:
            return v
        if v is None and not nullable:
            return ABSENT
        return exact(v)

    return scalar, frozenset(fast - {str}), str in fast


# A payload shape (its keys, in order) gets generated straight-line code once it has been seen
# this often; at most this many shapes per validator (others take the loop).
_SHAPE_AFTER = 4
_MAX_SHAPES = 128  # about 7 KB each
_MAX_SEEN = 1024  # shapes counted at a time (the count restarts when there are more)


class Validator:
    """The compiled validation of one action's fields. Call it with a resolved mapping; it returns the
    payload ``perform`` gets (cleaned, coerced, unknown keys dropped) or raises
    :class:`PayloadValidationError`.

    Each field has a fast closure for the common, already-valid shapes; any value that needs coercion
    or has an issue goes through the exact ajv emulation (and an invalid payload is re-run through
    the exact path as a whole, so issues come out in the reference's order)."""

    __slots__ = ("schema", "_root", "_entries", "_required", "_fns", "_field_fns", "_shapes", "_seen")

    def __init__(self, fields: Mapping[str, InputField]) -> None:
        self.schema = fields_to_schema(fields)
        self._root = _Checker(self.schema)
        entries: dict[str, tuple[int, _Checker, SchemaNode, bool, bool, str]] = {}
        fns: dict[str, Callable[[Any], Any]] = {}
        field_fns: dict[str, _FieldFn] = {}
        assert self.schema.properties is not None and self._root.props is not None
        for idx, (key, node) in enumerate(self.schema.properties.items()):
            checker = self._root.props[key]
            ptr = "/" + _escape_pointer(key)
            entries[key] = (idx, checker, node, "null" in node.types, node.types == ("array",), ptr)
            field_fns[key] = _compile_field(node, checker, ptr)
            fns[key] = field_fns[key][0]
        self._entries = entries
        self._fns = fns
        self._field_fns = field_fns
        self._required = self.schema.required
        self._shapes: dict[tuple[str, ...], Callable[[dict[str, Any]], dict[str, Any] | None] | None] = {}
        self._seen: dict[tuple[str, ...], int] = {}

    def __call__(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        if type(payload) is not dict:
            return self._validate_non_object(payload)
        shape = tuple(payload)
        shape_fn = self._shapes.get(shape)
        if shape_fn is None and len(self._shapes) < _MAX_SHAPES:
            seen = self._seen.get(shape, 0) + 1
            if len(self._seen) >= _MAX_SEEN:
                self._seen.clear()
            self._seen[shape] = seen
            if seen >= _SHAPE_AFTER:
                shape_fn = self._shapes[shape] = self._shape_fn(shape)
                del self._seen[shape]
        if shape_fn is not None:
            try:
                out = shape_fn(payload)
            except _Invalid:
                return self.exact(payload)
            return self.exact(payload) if out is None else out
        return self._loop(payload)

    def _shape_fn(self, shape: tuple[str, ...]) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
        """What :meth:`_loop` does for payloads with exactly these keys in this order, as generated
        straight-line code: no per-key lookup, the common already-valid types checked inline, the
        field's closure called otherwise. It returns None when a required field is missing."""
        namespace: dict[str, Any] = {"A": ABSENT, "type": type, "str": str}
        lines = ["def _shape(p):", "    out = {}"]
        for i, key in enumerate(shape):
            entry = self._field_fns.get(key)
            if entry is None:
                continue  # removeAdditional at the root
            fn, inline_types, inline_str = entry
            namespace[f"f{i}"] = fn
            k = repr(key)
            lines.append(f"    x = p[{k}]")
            branch = "if"
            if inline_str or inline_types:
                lines.append("    t = type(x)")
            if inline_str:
                lines.append(f"    if t is str and x: out[{k}] = x")
                branch = "elif"
            if inline_types:
                namespace[f"t{i}"] = inline_types
                lines.append(f"    {branch} t in t{i}: out[{k}] = x")
                branch = "elif"
            body = "    " if branch == "if" else "        "
            if branch != "if":
                lines.append("    else:")
            lines.append(f"{body}x = f{i}(x)")
            lines.append(f"{body}if x is not A: out[{k}] = x")
        for key in self._required:
            if key not in shape:
                lines.append("    return None")
                break
            lines.append(f"    if {key!r} not in out: return None")
        lines.append("    return out")
        exec(compile("\n".join(lines) + "\n", "<validator shape>", "exec"), namespace)  # noqa: S102 - keys are repr()'d
        return namespace["_shape"]  # type: ignore[no-any-return]

    def _loop(self, payload: dict[str, Any]) -> dict[str, Any]:
        fns = self._fns
        out: dict[str, Any] = {}
        try:
            for key, value in payload.items():
                fn = fns.get(key)
                if fn is not None:
                    value = fn(value)
                    if value is not ABSENT:
                        out[key] = value
        except _Invalid:
            return self.exact(payload)
        for key in self._required:
            if key not in out:
                return self.exact(payload)
        return out

    def exact(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The exact emulation, step by step (what ``__call__`` falls back to)."""
        if type(payload) is not dict:
            return self._validate_non_object(payload)
        entries = self._entries
        out: dict[str, Any] = {}
        tagged: list[tuple[int, FieldIssue]] | None = None
        for key, value in payload.items():
            entry = entries.get(key)
            if entry is None:
                continue  # removeAdditional at the root
            idx, checker, node, nullable, arrify, ptr = entry
            tv = type(value)
            # removeEmptyValues (root)
            if value is None:
                if not nullable:
                    continue
            elif tv is str:
                if not value:
                    continue
            elif tv is dict or tv is list:
                value = remove_empty_values(value, node)
                if value is ABSENT:
                    continue
                tv = type(value)
            # arrifyFields
            if arrify and tv is not list and value is not None:
                value = [value]
                tv = list
            if tv in checker.fast_types:
                out[key] = value
                continue
            issues: list[FieldIssue] = []
            out[key] = checker.check(value, ptr, issues)
            if issues:
                if tagged is None:
                    tagged = []
                tagged.extend((idx, issue) for issue in issues)
        missing = [k for k in self._required if k not in out]
        if missing or tagged:
            ordered = [FieldIssue("", required_message(None, "", k)) for k in missing]
            if tagged:
                tagged.sort(key=lambda t: t[0])
                ordered.extend(issue for _, issue in tagged)
            raise PayloadValidationError.from_issues(ordered)
        return out

    def _validate_non_object(self, payload: Any) -> dict[str, Any]:
        issues = [FieldIssue("", type_message(None, "", ("object",), payload))]
        raise PayloadValidationError.from_issues(issues)


def compile_validator(fields: Mapping[str, InputField]) -> Validator:
    """Compile an action's fields once; the result validates one payload per call."""
    return Validator(fields)


_CACHE: dict[int, tuple[Mapping[str, InputField], Validator]] = {}


def validate_payload(fields: Mapping[str, InputField], payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``payload`` against ``fields`` (compiled once per fields mapping and cached)."""
    hit = _CACHE.get(id(fields))
    if hit is None or hit[0] is not fields:
        if len(_CACHE) > 256:
            _CACHE.clear()
        hit = (fields, Validator(fields))
        _CACHE[id(fields)] = hit
    return hit[1](payload)
