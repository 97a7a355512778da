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

from collections.abc import Callable, Mapping
from typing import Any

from amprelay.errors import AmprelayError

from .checker import Checker, escape_pointer
from .dates import is_date_like
from .empty import ABSENT, remove_empty_values
from .errors import (
    FieldIssue,
    PayloadValidationError,
    required_message,
    type_message,
)
from .jsdate import iso_ms_z
from .model import InputField
from .schema import SchemaNode, fields_to_schema

__all__ = ["NeedsExactPath", "Validator", "compile_validator", "validate_payload"]


class NeedsExactPath(AmprelayError):
    """Raised by a fast path (a field function of :meth:`Validator.root_checks`) when a value
    needs the exact path: to be coerced in ways the fast path does not do, or to have its issues
    reported. Never escapes: whoever calls a field function re-runs the payload through
    :meth:`Validator.__call__`."""


_Invalid = NeedsExactPath
_INVALID = NeedsExactPath()


def _prop_fast_table(checker: Checker) -> dict[str, tuple[frozenset[type], bool, frozenset[str], bool]]:
    assert checker.props is not None
    return {k: (c.fast_types, "null" in c.types, c.fast_strings, c.fast_float) for k, c in checker.props.items()}


_FieldFn = tuple[Callable[[Any], Any], frozenset[type], bool]
# an object field with declared properties: (per property (types, nullable, strings, finite floats),
# additional properties allowed, required properties)
_ObjectCheck = tuple[dict[str, tuple[frozenset[type], bool, frozenset[str], bool]], bool, tuple[str, ...]]


def _compile_field(node: SchemaNode, checker: Checker, ptr: str) -> _FieldFn:
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
                if no_length:
                    ms = iso_ms_z(v)  # is_date_like's first step, inline (the common form)
                    if ms is not None:
                        if ms == ms:
                            return v
                    elif is_date_like(v):
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

    __slots__ = ("schema", "_root", "_entries", "_required", "_fns", "_field_fns", "_objects", "_shapes", "_seen")

    def __init__(self, fields: Mapping[str, InputField]) -> None:
        self.schema = fields_to_schema(fields)
        self._root = Checker(self.schema)
        entries: dict[str, tuple[int, Checker, SchemaNode, bool, bool, str]] = {}
        fns: dict[str, Callable[[Any], Any]] = {}
        field_fns: dict[str, _FieldFn] = {}
        objects: dict[str, _ObjectCheck] = {}
        assert self.schema.properties is not None and self._root.props is not None
        for idx, (key, node) in enumerate(self.schema.properties.items()):
            checker = self._root.props[key]
            ptr = "/" + escape_pointer(key)
            entries[key] = (idx, checker, node, "null" in node.types, node.types == ("array",), ptr)
            field_fns[key] = _compile_field(node, checker, ptr)
            if checker.props is not None:
                objects[key] = (_prop_fast_table(checker), checker.additional, tuple(checker.required))
            fns[key] = field_fns[key][0]
        self._entries = entries
        self._fns = fns
        self._field_fns = field_fns
        self._objects = objects
        self._required = self.schema.required
        self._shapes: dict[tuple[str, ...], Callable[[dict[str, Any]], dict[str, Any] | None] | None] = {}
        self._seen: dict[tuple[str, ...], int] = {}

    def root_checks(self) -> tuple[dict[str, _FieldFn], tuple[str, ...], object, dict[str, _ObjectCheck], BaseException]:
        """What this validator does to each root key of a payload, for code that resolves and
        validates in one pass: ``({key: (fn, types, strings)}, required keys, ABSENT, objects,
        NeedsExactPath())``. ``fn(value)`` returns the value for the payload (``ABSENT``: leave
        the key out) or raises :class:`NeedsExactPath`; a value whose type is in ``types`` (or a
        non-empty string, when ``strings``) is kept as it is. Undeclared keys are left out. Doing
        exactly that to a dict payload's items, in order, gives what ``self(payload)`` returns,
        unless a required key is missing or :class:`NeedsExactPath` is raised: then
        ``self(payload)`` decides.

        ``objects`` describes the object fields with declared properties (what their ``fn``
        checks): ``{key: ({property: (types, nullable, strings, finite_floats)}, additional,
        required)}``. A dict whose properties all have a type in ``types`` (a string in
        ``strings``, a finite float when ``finite_floats``) is kept as it is; a null property
        is left out unless ``nullable``; an undeclared one unless ``additional``; anything else,
        or a required property missing (or null), needs the exact path."""
        return dict(self._field_fns), tuple(self._required), ABSENT, dict(self._objects), NeedsExactPath()

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
        return namespace["_shape"]

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
