"""Fast path for the root of a mapping: generate one Python function for the top-level object.

The root object, nested plain objects, string @path directives, @if (exists/blank) and constants
are emitted as straight-line code, with each path prefix (`context`, `context.device`, ...) looked
up once per event. Every other directive is delegated to the closure compiled by `compiler.py`.
Generated once per mapping at compile time; semantics are identical to the closure tree
(the closure tree remains the reference implementation and the fallback).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from amprelay.js import UNDEFINED, js_number, js_numbers, keys_in_order, truthy

from .directives import blank_ne_empty
from .nodes import Const, as_fn, is_directive, remove_undefined_copy
from .path import OBJECT_PROTO_KEYS, get_path, parse_path, strip_root
from .resolve import compile_node

__all__ = ["RootChecks", "generate_checked_root", "generate_root"]


@dataclass(frozen=True, slots=True)
class RootChecks:
    """The validation of the resolved root object, as its validator provides it (mapping stays
    independent of the fields): per declared key ``(fn, types, strings)`` where ``fn(value)``
    returns the value for the payload, ``absent`` to leave the key out, or raises (the caller
    then takes the exact path); values whose type is in ``types``, and non-empty strings when
    ``strings``, are kept as they are without calling ``fn``. Keys not in ``fields`` are left
    out; ``required`` keys must end up present."""

    fields: Mapping[str, tuple[Callable[[Any], Any], frozenset[type], bool]]
    required: tuple[str, ...]
    absent: object
    #: object fields with declared properties, checked property by property as the mapping builds
    #: them: ``{key: ({property: (types, nullable, strings, finite_floats)}, additional, required)}``
    objects: Mapping[str, tuple[Mapping[str, tuple[frozenset[type], bool, frozenset[str], bool]], bool, tuple[str, ...]]]
    #: raised when a value needs the exact path (the caller then resolves and validates in two steps)
    needs_exact: BaseException


class _Gen:
    def __init__(self, payload_is_dict: bool = True) -> None:
        self.payload_is_dict = payload_is_dict
        self.lines: list[str] = []  # body lines (indent included)
        self.prefix_vars: dict[tuple[str, ...], str] = {(): "p"}
        self.consts: list[Any] = []
        self.funcs: list[Callable[[Any], Any]] = []
        self.tmp = 0
        self.names: dict[str, Any] = {}

    # -- helpers
    def const(self, value: Any) -> str:
        if value is UNDEFINED:
            return "U"
        if value is None or type(value) in (bool, int):
            return repr(value)
        if type(value) is str:
            return repr(value)
        self.consts.append(value)
        return f"_k[{len(self.consts) - 1}]"

    def func(self, fn: Callable[[Any], Any]) -> str:
        self.funcs.append(fn)
        return f"_f[{len(self.funcs) - 1}]"

    def new_var(self) -> str:
        self.tmp += 1
        return f"x{self.tmp}"

    def prefix(self, keys: tuple[str, ...]) -> str:
        """The variable holding `get(payload, keys)`; its code is emitted by prefix_code()."""
        var = self.prefix_vars.get(keys)
        if var is not None:
            return var
        self.prefix(keys[:-1])
        var = f"v{len(self.prefix_vars)}"
        self.prefix_vars[keys] = var
        return var

    def prefix_code(self) -> list[str]:
        """Lookups of every path prefix, parent before children, one dict check per parent."""
        children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for keys in self.prefix_vars:
            if keys:
                children.setdefault(keys[:-1], []).append(keys)
        lines: list[str] = []

        def lookup(parent: str, key: str, as_dict: bool) -> str:
            if key in OBJECT_PROTO_KEYS:  # inherited members: always the full lookup
                return f"_gp({parent}, ({key!r},))"
            if as_dict:
                return f"{parent}.get({key!r}, U)"
            return f"_gp({parent}, ({key!r},))"

        def emit(parent_keys: tuple[str, ...]) -> None:
            kids = children.get(parent_keys)
            if not kids:
                return
            parent = self.prefix_vars[parent_keys]
            if parent == "p" and self.payload_is_dict:
                for k in kids:
                    lines.append(f"    {self.prefix_vars[k]} = {lookup(parent, k[-1], True)}")
            elif len(kids) == 1:
                k = kids[0]
                lines.append(
                    f"    {self.prefix_vars[k]} = {lookup(parent, k[-1], True)} if type({parent}) is dict"
                    f" else U if {parent} is U else {lookup(parent, k[-1], False)}"
                )
            else:
                lines.append(f"    if type({parent}) is dict:")
                lines.extend(f"        {self.prefix_vars[k]} = {lookup(parent, k[-1], True)}" for k in kids)
                # a missing parent: every lookup below it is undefined too
                lines.append(f"    elif {parent} is U:")
                lines.append("        " + " = ".join(self.prefix_vars[k] for k in kids) + " = U")
                lines.append("    else:")
                lines.extend(f"        {self.prefix_vars[k]} = {lookup(parent, k[-1], False)}" for k in kids)
            for k in kids:
                emit(k)

        emit(())
        return lines

    # -- emitters: each writes code assigning the final value of `node` to `target`
    def emit(self, node: Any, target: str, indent: str) -> None:
        t = type(node)
        if t is dict and not is_directive(node):
            self.emit_object(node, target, indent)
            return
        if t is dict:
            name = next(k for k in node if k.startswith("@"))
            value = node[name]
            if name == "@path" and type(value) is str:
                var = self.prefix(parse_path(strip_root(value)))
                self.lines.append(f"{indent}{target} = _cl({var}) if type({var}) in _CT else {var}")
                return
            if name == "@literal":
                self.emit(value, target, indent)
                return
            if name == "@if" and self.emit_if(value, target, indent):
                return
            if name == "@arrayPath" and self.emit_array_path(value, target, indent):
                return
        compiled = compile_node(node, True)
        if type(compiled) is Const:
            v = compiled.value
            if type(v) in (dict, list):
                self.lines.append(f"{indent}{target} = _cl({self.const(remove_undefined_copy(v))})")
            else:
                self.lines.append(f"{indent}{target} = {self.const(js_number(v) if type(v) is float else v)}")
            return
        # the closure tree's value, its numbers as JavaScript writes them (see copy_json)
        self.lines.append(f"{indent}{target} = _jn({self.func(as_fn(compiled, True))}(p))")

    def name(self, value: Any, stem: str) -> str:
        """A module-level name of the generated code bound to ``value`` (a global lookup, no indexing)."""
        name = f"{stem}{len(self.names)}"
        self.names[name] = value
        return name

    def emit_object(self, obj: dict[str, Any], target: str, indent: str) -> None:
        self.lines.append(f"{indent}{target} = {{}}")
        for k in keys_in_order(obj):
            if k == "__proto__":
                continue
            value = obj[k]
            if (type(value) is dict and len(value) == 1 and type(value.get("@path")) is str):
                var = self.prefix(parse_path(strip_root(value["@path"])))
                self.lines.append(
                    f"{indent}if {var} is not U: {target}[{k!r}] = _cl({var}) if type({var}) in _CT else {var}"
                )
                continue
            x = self.new_var()
            self.emit(obj[k], x, indent)
            self.lines.append(f"{indent}if {x} is not U: {target}[{k!r}] = {x}")

    def emit_checked_root(self, obj: dict[str, Any], checks: RootChecks) -> None:
        """The root object with each value checked as it is assigned (what the action's validator
        does to the resolved mapping, see :class:`RootChecks`): a value the check leaves as it is
        goes in directly, any other through the field's function; keys the fields do not declare
        are evaluated but left out; a missing required field returns None."""
        self.lines.append("    out = {}")
        for k in keys_in_order(obj):
            if k == "__proto__":
                continue
            value = obj[k]
            check = checks.fields.get(k)
            obj_check = checks.objects.get(k)
            if check is not None and obj_check is not None and type(value) is dict and not is_directive(value):
                var = self.new_var()
                self.emit_checked_object(value, var, obj_check)
                self.lines.append(f"    out[{k!r}] = {var}")
                continue
            if check is not None and _kept_constant(value, check[1], check[2]):
                self.lines.append(f"    out[{k!r}] = {value!r}")  # checked here, once
                continue
            if type(value) is dict and len(value) == 1 and type(value.get("@path")) is str:
                # a value read from the event: copied (containers, floats) unless kept as it is
                var = self.prefix(parse_path(strip_root(value["@path"])))
                if check is None:
                    continue  # a path has no effect: nothing to evaluate
                copied = f"_cl({var}) if t in _CT else {var}"
            else:
                var = self.new_var()
                self.emit(value, var, "    ")  # final: a fresh value
                if check is None:
                    continue
                copied = var
            fn, inline_types, inline_str = check
            key = repr(k)
            self.lines.append(f"    if {var} is not U:")
            self.lines.append(f"        t = type({var})")
            branch = "if"
            if inline_str:
                self.lines.append(f"        if t is str and {var}: out[{key}] = {var}")
                branch = "elif"
            if inline_types:
                kept = copied if inline_types & set(_COPIED) else var
                self.lines.append(f"        {branch} t in {self.name(inline_types, '_t')}: out[{key}] = {kept}")
                branch = "elif"
            body = "        "
            if branch != "if":
                self.lines.append("        else:")
                body = "            "
            self.lines.append(f"{body}x = {self.name(fn, '_v')}({copied})")
            self.lines.append(f"{body}if x is not A: out[{key}] = x")
        for k in checks.required:
            self.lines.append(f"    if {k!r} not in out: return None")

    def emit_checked_object(self, obj: dict[str, Any], target: str,
                            check: tuple[Mapping[str, tuple[frozenset[type], bool, frozenset[str], bool]], bool,
                                         tuple[str, ...]]) -> None:
        """A plain object of the mapping for an object field with declared properties: each
        property checked as it is assigned (see ``RootChecks.objects``), ``_NX`` raised for
        anything the field's own function would send to the exact path."""
        table, additional, required = check
        self.lines.append(f"    {target} = {{}}")
        for k in keys_in_order(obj):
            if k == "__proto__":
                continue
            value = obj[k]
            entry = table.get(k)
            if entry is not None and _kept_constant(value, entry[0], False, entry[2]):
                self.lines.append(f"    {target}[{k!r}] = {value!r}")  # checked here, once
                continue
            if type(value) is dict and len(value) == 1 and type(value.get("@path")) is str:
                var = self.prefix(parse_path(strip_root(value["@path"])))
                if entry is None and not additional:
                    continue  # left out, and a path has no effect
                copied = f"_cl({var}) if type({var}) in _CT else {var}"
            else:
                var = self.new_var()
                self.emit(value, var, "    ")
                if entry is None and not additional:
                    continue
                copied = var
            key = repr(k)
            if entry is None:  # an undeclared property, allowed
                self.lines.append(f"    if {var} is not U: {target}[{key}] = {copied}")
                continue
            types, nullable, strings, finite_floats = entry
            self.lines.append(f"    if {var} is not U:")
            self.lines.append(f"        t = type({var})")
            kept = copied.replace(f"type({var})", "t") if types & set(_COPIED) else var
            self.lines.append(f"        if t in {self.name(types, '_t')}: {target}[{key}] = {kept}")
            if strings:
                self.lines.append(f"        elif t is str and {var} in {self.name(strings, '_s')}: {target}[{key}] = {var}")
            if finite_floats:
                self.lines.append(f"        elif t is float and {var} - {var} == 0: {target}[{key}] = _cl({var})")
            if not nullable:
                self.lines.append(f"        elif {var} is None: pass")
            self.lines.append("        else: raise _NX")
        for r in required:
            self.lines.append(f"    if {target}.get({r!r}) is None: raise _NX")

    def emit_array_path(self, data: Any, target: str, indent: str) -> bool:
        if type(data) is not list or len(data) < 2 or type(data[0]) is not str:
            return False
        shape = data[1]
        if type(shape) is not dict or not shape:
            return False
        var = self.prefix(parse_path(strip_root(data[0])))
        item_fn = self.func(_generate(shape, payload_is_dict=False))
        self.lines.append(f"{indent}if type({var}) is list: {target} = [{item_fn}(i) for i in {var}]")
        self.lines.append(f"{indent}elif type({var}) is dict: {target} = [{item_fn}({var})]")
        self.lines.append(f"{indent}else: {target} = _cl({var}) if type({var}) in _CT else {var}")
        return True

    def emit_if(self, opts: Any, target: str, indent: str) -> bool:
        if type(opts) is not dict:
            return False
        exists = opts.get("exists", UNDEFINED)
        blank = opts.get("blank", UNDEFINED)
        if not truthy(exists) and not truthy(blank):
            return False
        cond_raw = exists if exists is not UNDEFINED else blank
        if not (type(cond_raw) is dict and is_directive(cond_raw) and "@path" in cond_raw
                and len(cond_raw) == 1 and type(cond_raw["@path"]) is str):
            return False
        var = self.prefix(parse_path(strip_root(cond_raw["@path"])))
        if exists is not UNDEFINED:
            test = f"{var} is not U and {var} is not None"
        else:
            test = f"{var} is not U and {var} is not None and _bne({var})"
        then_raw = opts.get("then", UNDEFINED)
        else_raw = opts.get("else", UNDEFINED)
        self.lines.append(f"{indent}if {test}:")
        if then_raw is not UNDEFINED:
            self.emit(then_raw, target, indent + "    ")
        else:
            self.lines.append(f"{indent}    {target} = U")
        self.lines.append(f"{indent}else:")
        if truthy(else_raw):
            self.emit(else_raw, target, indent + "    ")
        else:
            self.lines.append(f"{indent}    {target} = U")
        return True


def _kept_constant(value: Any, types: frozenset[type], strings: bool,
                   enum: frozenset[str] = frozenset()) -> bool:
    """Whether ``value``, a constant of the mapping, is one the generated check keeps as it is
    (its type in ``types``, a non-empty string when ``strings``, a string in ``enum``): then
    the check is made when generating the code, and the value assigned directly. Only
    booleans, integers and strings (as written in the mapping: what the code would assign)."""
    t = type(value)
    if t is not bool and t is not int and t is not str:
        return False
    return t in types or (t is str and ((strings and value != "") or value in enum))


# what the generated code hands to copy_json: containers, and floats (an integral one becomes an int)
_COPIED = (dict, list, float)


_js_number = js_number


def copy_json(value: Any) -> Any:
    """Deep copy of event data (no undefined inside); drops own "__proto__" keys like
    upstream's Object.assign copy; floats as :func:`amprelay.js.js_number` gives them (an
    integral one becomes an int: the same JavaScript number, and what orjson writes as
    ``JSON.stringify`` does; requests are serialised without a fix-up pass)."""
    t = type(value)
    if t is dict:
        out = value.copy()
        for k, v in value.items():
            t = type(v)
            if t is dict or t is list:
                out[k] = copy_json(v)
            elif t is float:
                out[k] = _js_number(v)
            elif v is UNDEFINED:
                del out[k]
        if "__proto__" in out:
            del out["__proto__"]
        return out
    if t is list:
        return [copy_json(v) if type(v) in _COPIED else v for v in value]
    if t is float:
        return _js_number(value)
    return value


def _body(gen: _Gen, node: Any, payload_is_dict: bool, indent: str) -> list[str]:
    gen.payload_is_dict = payload_is_dict
    gen.lines = []
    gen.prefix_vars = {(): "p"}
    gen.emit(node, "out", "    ")
    lines = gen.prefix_code() + gen.lines + ["    return out"]
    extra = indent[4:]
    return [extra + line for line in lines]


def _generate(node: Any, payload_is_dict: bool, checks: RootChecks | None = None) -> Callable[[Any], Any]:
    header = ("def _gen(p, U=U, A=A, _cl=_cl, _CT=_CT, _gp=_gp, _bne=_bne, _jn=_jn, _k=_k, _f=_f, type=type, str=str,"
              " dict=dict, list=list):")
    gen = _Gen()
    if checks is not None:
        gen.emit_checked_root(node, checks)
        lines = gen.prefix_code() + gen.lines + ["    return out"]
    elif payload_is_dict:
        lines = _body(gen, node, True, "    ")
    else:
        # a dict-payload fast path first, then the general one (item shapes of @arrayPath)
        lines = ["    if type(p) is dict:"] + _body(gen, node, True, "        ") + _body(gen, node, False, "    ")
    src = header + "\n" + "\n".join(lines) + "\n"
    namespace: dict[str, Any] = {
        "U": UNDEFINED,
        "A": checks.absent if checks is not None else UNDEFINED,
        "_NX": checks.needs_exact if checks is not None else None,
        "_k": tuple(gen.consts),
        "_f": tuple(gen.funcs),
        "_gp": get_path,
        "_cl": copy_json,
        "_CT": _COPIED,
        "_bne": blank_ne_empty,
        "_jn": js_numbers,
        **gen.names,
    }
    exec(compile(src, "<mapping>", "exec"), namespace)  # noqa: S102 - generated from a validated mapping
    fn = namespace["_gen"]
    return fn


def generate_root(prepared: dict[str, Any]) -> Callable[[dict[str, Any]], Any]:
    """A function evaluating the (already validated) root object for a dict payload."""
    return _generate(prepared, payload_is_dict=True)


def generate_checked_root(prepared: Any, checks: RootChecks) -> Callable[[dict[str, Any]], dict[str, Any] | None] | None:
    """For a root that is a plain object: one function resolving it for a dict payload and
    checking each value as :class:`RootChecks` says (mapping and validation in one pass). It
    returns None when a required field is missing, and whatever a field function raises goes
    through. None when the root is not a plain object."""
    if type(prepared) is not dict or is_directive(prepared):
        return None
    return _generate(prepared, payload_is_dict=True, checks=checks)
