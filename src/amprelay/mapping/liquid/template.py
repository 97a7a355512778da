"""Liquid templates: `{{ }}` outputs, `{% %}` tags, whitespace control, and `compile_liquid`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from amprelay.js import (
    UNDEFINED,
    number_to_string,
)

from .expressions import Tok, parse_expression, parse_filtered_value
from .values import BLANK_CHARS, DISABLED_TAGS, LiquidError, falsy, stringify, to_value


class _Ctx:
    __slots__ = ("env", "scope", "counters")

    def __init__(self, env: Any):
        self.env = env if type(env) is dict else {}
        self.scope: dict[str, Any] = {}
        self.counters: dict[str, Any] = {}

    def lookup(self, key: Any) -> Any:
        if type(key) is not str:
            key = stringify(key) if not isinstance(key, (int, float)) else number_to_string(key)
        if key in self.scope:
            return self.scope[key]
        if key in self.counters:
            return self.counters[key]
        return self.env.get(key, UNDEFINED)


def _split_top_level(src: str) -> list[tuple[str, str, bool, bool]]:
    """-> [(kind, content, trim_left, trim_right)] with kind in html/output/tag."""
    out: list[tuple[str, str, bool, bool]] = []
    p = 0
    n = len(src)
    while p < n:
        i_out = src.find("{{", p)
        i_tag = src.find("{%", p)
        cands = [i for i in (i_out, i_tag) if i >= 0]
        if not cands:
            out.append(("html", src[p:], False, False))
            break
        i = min(cands)
        if i > p:
            out.append(("html", src[p:i], False, False))
        is_tag = src.startswith("{%", i)
        close = "%}" if is_tag else "}}"
        j = i + 2
        found = -1
        while j < n:
            c = src[j]
            if not is_tag and c in ("'", '"'):
                k = j + 1
                while k < n and src[k] != c:
                    k += 1
                j = k + 1
                continue
            if src.startswith(close, j):
                found = j
                break
            j += 1
        if found < 0:
            kind = "tag" if is_tag else "output"
            raise LiquidError(f'{kind} "{src[i:]}" not closed')
        inner = src[i + 2 : found]
        tl = inner.startswith("-")
        tr = inner.endswith("-") and len(inner) > (1 if tl else 0)
        content = inner[1 if tl else 0 : len(inner) - (1 if tr else 0)]
        out.append(("tag" if is_tag else "output", content, tl, tr))
        p = found + 2
        if is_tag:
            name = content.strip(BLANK_CHARS).split(None, 1)[0] if content.strip(BLANK_CHARS) else ""
            if name in ("raw", "comment"):
                endname = "end" + name
                m = re.compile(r"\{%-?\s*" + endname + r"\s*-?%\}").search(src, p)
                if m is None:
                    raise LiquidError(f"tag {{% {name} %}} not closed")
                body = src[p : m.start()]
                out.append(("rawbody" if name == "raw" else "commentbody", body, False, False))
                endinner = m.group(0)[2:-2]
                out.append(("tag", endname, endinner.startswith("-"), endinner.endswith("-")))
                p = m.end()
    return out


def _apply_trims(tokens: list[Any]) -> list[Any]:
    toks = [list(t) for t in tokens]
    for idx, (kind, _content, tl, tr) in enumerate(tokens):
        if kind in ("tag", "output"):
            if tl and idx > 0 and toks[idx - 1][0] == "html":
                toks[idx - 1][1] = toks[idx - 1][1].rstrip(BLANK_CHARS)
            if tr and idx + 1 < len(toks) and toks[idx + 1][0] == "html":
                toks[idx + 1][1] = toks[idx + 1][1].lstrip(BLANK_CHARS)
    return toks


Render = Callable[[_Ctx, list[Any]], None]


def _literal(text: str) -> Render:
    def run_literal(ctx: _Ctx, out: list[Any]) -> None:
        out.append(text)

    return run_literal


def _output(value: Callable[[Any], Any]) -> Render:
    def run_output(ctx: _Ctx, out: list[Any]) -> None:
        out.append(stringify(value(ctx)))

    return run_output


def _parse_block(tokens: list[Any], pos: int, stop: tuple[str, ...]) -> tuple[list[Render], int, str | None, str]:
    """Parse nodes until a tag in `stop`; returns (nodes, next_pos, stop_tag_name, stop_tag_args)."""
    nodes: list[Render] = []
    while pos < len(tokens):
        kind, content = tokens[pos][0], tokens[pos][1]
        pos += 1
        if kind in ("html", "rawbody"):
            text = content
            nodes.append(_literal(text))
        elif kind == "commentbody":
            continue
        elif kind == "output":
            if content.strip(BLANK_CHARS) == "":
                continue
            value = parse_filtered_value(content)
            nodes.append(_output(value))
        else:
            stripped = content.strip(BLANK_CHARS)
            if stripped.startswith("#"):
                continue
            m = re.match(r"([^\s]*)\s*(.*)", stripped, re.S)
            assert m is not None  # the pattern matches any text
            name, args = m.group(1), m.group(2)
            if name in stop:
                return nodes, pos, name, args
            node, pos = _parse_tag(name, args, tokens, pos)
            if node is not None:
                nodes.append(node)
    return nodes, pos, None, ""


def _run(nodes: list[Render], ctx: _Ctx, out: list[Any]) -> None:
    for node in nodes:
        node(ctx, out)


def _parse_tag(name: str, args: str, tokens: list[Any], pos: int) -> tuple[Render | None, int]:
    if name in DISABLED_TAGS:
        raise LiquidError(f'tag "{name}" is disabled')
    if name in ("if", "unless"):
        branches: list[tuple[Callable[[Any], Any] | None, list[Render], bool]] = []
        cond_text = args
        negate = name == "unless"
        while True:
            tok = Tok(cond_text)
            cond = parse_expression(tok)
            if cond is None:
                raise LiquidError(f'invalid value expression: "{cond_text}"')
            body, pos, stop, stop_args = _parse_block(tokens, pos, ("elsif", "else", "end" + name))
            branches.append((cond, body, negate))
            negate = False
            if stop is None:
                raise LiquidError(f"tag {{% {name} %}} not closed")
            if stop == "elsif":
                cond_text = stop_args
                continue
            else_body: list[Render] = []
            if stop == "else":
                else_body, pos, stop2, _ = _parse_block(tokens, pos, ("end" + name,))
                if stop2 is None:
                    raise LiquidError(f"tag {{% {name} %}} not closed")
            break

        def run_if(ctx: _Ctx, out: list[Any], branches: tuple[Any, ...] = tuple(branches),
                   else_body: list[Render] = else_body) -> None:
            for cond, body, neg in branches:
                truthy = not falsy(to_value(cond(ctx)))
                if truthy != neg:
                    _run(body, ctx, out)
                    return
            _run(else_body, ctx, out)

        return run_if, pos
    if name == "assign":
        m = re.match(r"\s*([^\s=]+)\s*=(.*)", args, re.S)
        if m is None:
            raise LiquidError('expected "="')
        key = m.group(1)
        value = parse_filtered_value(m.group(2))

        def run_assign(ctx: _Ctx, out: list[Any]) -> None:
            ctx.scope[key] = value(ctx)

        return run_assign, pos
    if name == "capture":
        key = Tok(args).read_identifier() or args.strip(BLANK_CHARS).strip("'\"")
        body, pos, stop, _ = _parse_block(tokens, pos, ("endcapture",))
        if stop is None:
            raise LiquidError("tag {% capture %} not closed")

        def run_capture(ctx: _Ctx, out: list[Any]) -> None:
            buf: list[Any] = []
            _run(body, ctx, buf)
            ctx.scope[key] = "".join(buf)

        return run_capture, pos
    if name == "echo":
        if args.strip(BLANK_CHARS) == "":
            return None, pos
        value = parse_filtered_value(args)
        return (lambda ctx, out: out.append(stringify(value(ctx)))), pos
    if name in ("raw", "comment"):
        # body already captured by the splitter; skip to the end tag
        if pos < len(tokens) and tokens[pos][0] in ("rawbody", "commentbody"):
            text = tokens[pos][1]
            pos += 2
            if name == "raw":
                return (lambda ctx, out: out.append(text)), pos
            return None, pos
        return None, pos
    if name in ("increment", "decrement"):
        var = Tok(args).read_identifier()

        def run_counter(ctx: _Ctx, out: list[Any]) -> None:
            cur: Any = ctx.counters.get(var, ctx.env.get(var, UNDEFINED))
            if type(cur) not in (int, float) or type(cur) is bool:
                cur = 0
            if name == "increment":
                out.append(number_to_string(cur))
                ctx.counters[var] = cur + 1
            else:
                ctx.counters[var] = cur - 1
                out.append(number_to_string(cur - 1))

        return run_counter, pos
    raise LiquidError(f'tag "{name}" is not supported')


def compile_liquid(source: str) -> Callable[[Any], str]:
    """Parse a liquid template once; returns `render(payload) -> str`."""
    tokens = _apply_trims(_split_top_level(source))
    nodes, pos, stop, _ = _parse_block(tokens, 0, ())
    if stop is not None:
        raise LiquidError(f'unexpected tag "{stop}"')

    def render(payload: Any) -> str:
        ctx = _Ctx(payload)
        out: list[Any] = []
        _run(nodes, ctx, out)
        return "".join(out)

    return render
