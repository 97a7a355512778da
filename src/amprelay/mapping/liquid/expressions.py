"""Liquid expressions: the tokenizer, operators, variable access and `value | filter: args`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amprelay.js import (
    UNDEFINED,
)

from .filters import compile_filter
from .values import (
    BLANK_CHARS,
    LITERALS,
    OPERATORS,
    PRECEDENCE,
    LiquidError,
    compare,
    contains,
    equals,
    falsy,
    is_word,
    num,
    read_property,
    stringify,
    to_number,
    to_value,
)


class Tok:
    def __init__(self, text: str):
        self.s = text
        self.p = 0
        self.n = len(text)

    def peek(self, k: int = 0) -> str:
        i = self.p + k
        return self.s[i] if i < self.n else ""

    def skip_blank(self) -> None:
        while self.p < self.n and self.s[self.p] in BLANK_CHARS:
            self.p += 1

    def end(self) -> bool:
        return self.p >= self.n

    def read_identifier(self) -> str:
        self.skip_blank()
        b = self.p
        while self.p < self.n and is_word(self.s[self.p]):
            self.p += 1
        return self.s[b : self.p]

    def _match_word(self, words: list[str]) -> str | None:
        best = None
        for w in words:
            if self.s.startswith(w, self.p):
                if is_word(w[-1]) and is_word(self.peek(len(w))):
                    continue
                if best is None or len(w) > len(best):
                    best = w
        return best

    def read_operator(self) -> str | None:
        self.skip_blank()
        op = self._match_word(OPERATORS)
        if op is not None:
            self.p += len(op)
        return op

    def read_value(self) -> Any:
        """Returns an evaluator `ctx -> value` or None."""
        self.skip_blank()
        begin = self.p
        variable = self.read_literal() or self.read_quoted() or self.read_range() or self.read_number()
        props = self.read_properties(variable is None)
        if not props:
            return variable
        access = _make_access(variable, props)
        access.text = self.s[begin : self.p]  # type: ignore[attr-defined]
        return access

    def read_literal(self) -> Any:
        self.skip_blank()
        w = self._match_word(list(LITERALS))
        if w is None:
            return None
        self.p += len(w)
        value = LITERALS[w]
        return lambda ctx: value

    def read_quoted(self) -> Any:
        self.skip_blank()
        b = self.p
        q = self.peek()
        if q not in ("'", '"'):
            return None
        self.p += 1
        escaped = False
        while self.p < self.n:
            self.p += 1
            c = self.s[self.p - 1]
            if c == q and not escaped:
                break
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
        value = _parse_string_literal(self.s[b : self.p])
        return _Quoted(value)

    def read_range(self) -> Any:
        self.skip_blank()
        if self.peek() != "(":
            return None
        self.p += 1
        lhs = self.read_value()
        if lhs is None:
            raise LiquidError("unexpected token, value expected")
        self.skip_blank()
        if not (self.peek() == "." and self.peek(1) == "."):
            raise LiquidError("invalid range syntax")
        self.p += 2
        rhs = self.read_value()
        if rhs is None:
            raise LiquidError("unexpected token, value expected")
        self.skip_blank()
        if self.peek() != ")":
            raise LiquidError("invalid range syntax")
        self.p += 1

        def ev(ctx: Any) -> Any:
            lo, hi = to_number(lhs(ctx)), to_number(rhs(ctx))
            return list(range(int(lo), int(hi) + 1))

        return ev

    def read_number(self) -> Any:
        self.skip_blank()
        n = 0
        decimal = digit = False
        if self.peek() in ("-", "+"):
            n += 1
        while self.p + n <= self.n:
            c = self.peek(n)
            if c.isascii() and c.isdigit() and c != "":
                digit = True
                n += 1
            elif c == "." and self.peek(n + 1) != ".":
                if decimal or not digit:
                    return None
                decimal = True
                n += 1
            else:
                break
        if digit and not is_word(self.peek(n)):
            text = self.s[self.p : self.p + n]
            self.p += n
            value = num(float(text))
            return _Quoted(value)
        return None

    def read_properties(self, is_begin: bool) -> list[Any]:
        props: list[Any] = []
        while True:
            if self.peek() == "[":
                self.p += 1
                prop = self.read_value()
                if prop is None:
                    prop = _Quoted("")
                # readTo(']')
                found = False
                while self.p < self.n:
                    self.p += 1
                    if self.s[self.p - 1] == "]":
                        found = True
                        break
                if not found:
                    raise LiquidError("[ not closed")
                props.append(("value", prop))
                continue
            if is_begin and not props:
                ident = self.read_identifier()
                if ident:
                    props.append(("ident", ident))
                    continue
            if self.peek() == "." and self.peek(1) != ".":
                self.p += 1
                ident = self.read_identifier()
                if not ident:
                    break
                props.append(("ident", ident))
                continue
            break
        return props


class _Quoted:
    """A constant operand (quoted string or number)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __call__(self, ctx: Any) -> Any:
        return self.value


_ESCAPE_CHARS = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\x0b", "0": "\x00",
                 "'": "'", '"': '"', "\\": "\\"}


def _parse_string_literal(raw: str) -> str:
    out = []
    i = 1
    end = len(raw) - 1
    while i < end:
        c = raw[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = raw[i + 1] if i + 1 < len(raw) else ""
        if nxt in _ESCAPE_CHARS:
            out.append(_ESCAPE_CHARS[nxt])
            i += 2
        elif nxt == "u":
            j = i + 2
            val = 0
            while j <= i + 5 and j < len(raw) and raw[j] in "0123456789abcdefABCDEF":
                val = val * 16 + int(raw[j], 16)
                j += 1
            out.append(chr(val))
            i = j
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def _make_access(variable: Any, props: list[Any]) -> Callable[[Any], Any]:
    def ev(ctx: Any) -> Any:
        if variable is not None:
            obj = variable(ctx)
            rest = props
        else:
            kind, first = props[0]
            key = first if kind == "ident" else first(ctx)
            obj = ctx.lookup(key)
            rest = props[1:]
        for kind, p in rest:
            key = p if kind == "ident" else p(ctx)
            obj = read_property(obj, key)
        return obj

    return ev


def parse_expression(tok: Tok) -> Callable[[Any], Any] | None:
    """Operands and operators to postfix (liquidjs precedence, right-assoc at equal level)."""
    output: list[Any] = []
    ops: list[str] = []
    count = 0
    while tok.p < tok.n:
        op = tok.read_operator()
        if op is not None:
            while ops and PRECEDENCE[ops[-1]] > PRECEDENCE[op]:
                output.append(("op", ops.pop()))
            ops.append(op)
            count += 1
            continue
        operand = tok.read_value()
        if operand is not None:
            output.append(("val", operand))
            count += 1
            continue
        break
    while ops:
        output.append(("op", ops.pop()))
    if count == 0:
        return None
    postfix = tuple(output)

    def ev(ctx: Any) -> Any:
        stack: list[Any] = []
        for kind, item in postfix:
            if kind == "val":
                stack.append(item(ctx))
                continue
            if item == "not":
                v = stack.pop() if stack else UNDEFINED
                stack.append(falsy(to_value(v)))
                continue
            r = stack.pop() if stack else UNDEFINED
            l_ = stack.pop() if stack else UNDEFINED
            if item == "==":
                stack.append(equals(l_, r))
            elif item == "!=":
                stack.append(not equals(l_, r))
            elif item == "contains":
                stack.append(contains(l_, r))
            elif item == "and":
                stack.append(not falsy(to_value(l_)) and not falsy(to_value(r)))
            elif item == "or":
                stack.append(not falsy(to_value(l_)) or not falsy(to_value(r)))
            else:
                stack.append(compare(item, l_, r))
        return stack[0] if stack else UNDEFINED

    return ev


def parse_filtered_value(text: str) -> Callable[[Any], Any]:
    tok = Tok(text)
    initial = parse_expression(tok)
    if initial is None:
        raise LiquidError(f'invalid value expression: "{text}"')
    filters = []
    while True:
        tok.skip_blank()
        if tok.end():
            break
        if tok.s[tok.p] != "|":
            raise LiquidError('expected "|" before filter')
        tok.p += 1
        name = tok.read_identifier()
        if not name:
            if not tok.end():
                raise LiquidError("expected filter name")
            break
        args: list[Any] = []
        tok.skip_blank()
        if tok.peek() == ":":
            while True:
                tok.p += 1
                key = tok.read_value()
                if key is not None:
                    tok.skip_blank()
                    if tok.peek() == ":":
                        tok.p += 1
                        value = tok.read_value()
                        key_text = _arg_key_text(key)
                        args.append((key_text, value))
                    else:
                        args.append(key)
                tok.skip_blank()
                if not (tok.end() or tok.peek() in (",", "|")):
                    raise LiquidError("unexpected character")
                if tok.peek() != ",":
                    break
        elif tok.peek() == "|" or tok.end():
            pass
        else:
            raise LiquidError('expected ":" after filter name')
        filters.append((name, tuple(args)))
    compiled_filters = tuple(compile_filter(name, args) for name, args in filters)

    def ev(ctx: Any) -> Any:
        v = initial(ctx)
        for f in compiled_filters:
            v = f(ctx, v)
        return v

    return ev


def _arg_key_text(key: Any) -> str:
    if isinstance(key, _Quoted):
        return stringify(key.value)
    return getattr(key, "text", "")
