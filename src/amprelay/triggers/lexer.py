"""The FQL lexer, behaving like `@segment/fql-ts` 1.10.1 (the one the reference uses).

Its quirks are kept on purpose, because they decide which triggers are valid:
- `!=`, `<=`, `>=`, `and`, `or`, `null` and a closing quote are only taken as such when a
  terminator (whitespace, `,`, `]`, `)` or the end) follows; otherwise the characters are re-read.
  (`and(` is an identifier; `"a"and` starts a new string at the closing quote.)
- when such a look-ahead runs into the end of the text, the characters it read are not given back
  (`an` at the end lexes as the identifier `a`).
- an identifier must be followed by the end, a terminator, `.`, `(`, `=` or `!`.
- strings have no escapes; `'...'` strings keep their quotes in the token value.
- numbers are digits and dots after an optional sign, with no exponent.

The text is lexed as UTF-16 code units, like JavaScript; token positions are code-unit offsets
(see `Lexed.position_of` for code-point offsets).
"""

from __future__ import annotations

from dataclasses import dataclass

from amprelay.errors import AmprelayError
from amprelay.js import from_utf16, to_utf16

__all__ = ["LexError", "Lexed", "Token", "lex"]

EOS_FLAG = "-1"
_MAX_LENGTH = 100000

IDENT = "ident"
DOT = "dot"
OPERATOR = "operator"
CONDITIONAL = "conditional"
STRING = "string"
NUMBER = "number"
NULL = "null"
BRACKLEFT = "brackleft"
BRACKRIGHT = "brackright"
PARENLEFT = "parenleft"
PARENRIGHT = "parenright"
COMMA = "comma"
EOS = "eos"

_SINGLE = {".": (DOT, "."), "[": (BRACKLEFT, "["), "]": (BRACKRIGHT, "]"), ",": (COMMA, ","),
           "(": (PARENLEFT, "("), ")": (PARENRIGHT, ")")}


@dataclass(frozen=True, slots=True)
class Token:
    type: str
    value: str
    pos: int  # code-unit offset of the token's first character


class LexError(AmprelayError):
    def __init__(self, reason: str, pos: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pos = pos


@dataclass(frozen=True, slots=True)
class Lexed:
    tokens: tuple[Token, ...]  # empty when `error` is set (the reference drops them)
    error: LexError | None
    units: str  # the text as UTF-16 code units

    def position_of(self, unit_pos: int) -> int:
        """Code-point offset in the original text for a code-unit offset."""
        return len(from_utf16(self.units[:unit_pos]))


def _is_alpha(c: str) -> bool:
    return len(c) == 1 and ("a" <= c <= "z" or "A" <= c <= "Z")


def _is_number(c: str) -> bool:
    return len(c) == 1 and "0" <= c <= "9"


def _is_whitespace(c: str) -> bool:
    return c == " " or c == "\t" or c == "\n"


def _is_ident(c: str) -> bool:
    return c != EOS_FLAG and (_is_alpha(c) or _is_number(c) or c == "_" or c == "-" or c == "\\")


def _is_terminator(c: str) -> bool:
    return c == EOS_FLAG or _is_whitespace(c) or c == "," or c == "]" or c == ")"


class _Lexer:
    def __init__(self, units: str) -> None:
        self.code = units
        self.n = len(units)
        self.pos = 0

    # reader -------------------------------------------------------------------------------
    def next(self) -> tuple[str, bool]:
        if self.pos == self.n:
            return EOS_FLAG, True
        c = self.code[self.pos]
        self.pos += 1
        return c, False

    def peek(self) -> str:
        c, eos = self.next()
        if not eos:
            self.pos -= 1
        return c

    def backup(self, count: int) -> None:
        self.pos = max(0, self.pos - count)

    def accept(self, text: str) -> bool:
        chars = ""
        for _ in text:
            c, eos = self.next()
            chars += c
            if eos:
                return False  # what was read is not given back
            if _is_terminator(c):
                break
        if text == chars and _is_terminator(self.peek()):
            return True
        self.backup(len(chars))
        return False

    def fail(self, reason: str) -> LexError:
        return LexError(reason, self.pos)

    # lexer --------------------------------------------------------------------------------
    def lex(self) -> list[Token]:
        tokens: list[Token] = []
        while True:
            start = self.pos
            c, eos = self.next()
            if eos:
                tokens.append(Token(EOS, "eos", start))
                return tokens
            if _is_whitespace(c):
                continue
            if c == "!":
                nxt = self.peek()
                if _is_alpha(nxt) or nxt == "(":
                    tokens.append(Token(OPERATOR, "!", start))
                    continue
            if _is_alpha(c) or c in ("!", "=", ">", "<", "\\", "_"):
                typ, value = self.operator_or_conditional(c)
                tokens.append(Token(typ, value, start))
                continue
            if _is_number(c) or c == "-" or c == "+":
                tokens.append(Token(NUMBER, self.number(c), start))
                continue
            if c == '"' or c == "'":
                tokens.append(Token(STRING, self.string(c), start))
                continue
            single = _SINGLE.get(c)
            if single is not None:
                tokens.append(Token(single[0], single[1], start))
                continue
            raise LexError(f'invalid character "{c}"', start)

    def string(self, quote: str) -> str:
        text = ""
        while self.peek() != quote:
            c, eos = self.next()
            text += c
            if eos:
                raise self.fail("unterminated string")
            if len(text) >= _MAX_LENGTH:
                raise self.fail("unreasonable string length")
        self.accept(quote)  # only eats the quote when a terminator follows it
        return quote + text + quote

    def number(self, previous: str) -> str:
        text = ""
        coming = self.peek()
        decimal = False
        while _is_number(coming) or coming == ".":
            c, _ = self.next()
            text += c
            if coming == ".":
                if _is_terminator(self.peek()):
                    raise self.fail("unexpected terminator after decimal point")
                if decimal:
                    raise self.fail("multiple decimal points in one number")
                decimal = True
            if len(text) >= _MAX_LENGTH:
                raise self.fail("unreasonable number length")
            coming = self.peek()
        return previous + text

    def operator_or_conditional(self, previous: str) -> tuple[str, str]:
        if previous == "=":
            return OPERATOR, "="
        if previous == "!":
            if self.accept("="):
                return OPERATOR, "!="
            raise self.fail(f"expected '=' after '!', got '{self.peek()}'")
        if previous == "a":
            if self.accept("nd"):
                return CONDITIONAL, "and"
            return IDENT, self.ident(previous)
        if previous == "o":
            if self.accept("r"):
                return CONDITIONAL, "or"
            return IDENT, self.ident(previous)
        if previous == "n":
            if self.accept("ull"):
                return NULL, "null"
            return IDENT, self.ident(previous)
        if previous == "<" or previous == ">":
            if self.accept("="):
                return OPERATOR, previous + "="
            return OPERATOR, previous
        return IDENT, self.ident(previous)

    def ident(self, previous: str) -> str:
        text = ""
        c = previous
        while True:
            if c == "\\":
                if self.peek() == EOS_FLAG:
                    raise self.fail("expected character after escape character, got EOS")
                c, _ = self.next()
            text += c
            if len(text) >= _MAX_LENGTH:
                raise self.fail("unreasonable literal length")
            if not _is_ident(self.peek()):
                break
            c, _ = self.next()
        coming = self.peek()
        if not (_is_terminator(coming) or coming in (".", "(", "=", "!")):
            raise self.fail(f"expected termination character after identifier, got {coming}")
        return text


def lex(text: str) -> Lexed:
    """Lex trigger text. Token values are plain Python strings (surrogate pairs joined)."""
    units = to_utf16(text)
    try:
        raw = _Lexer(units).lex()
    except LexError as err:
        return Lexed((), err, units)
    if units is text:
        return Lexed(tuple(raw), None, units)
    tokens = tuple(Token(t.type, from_utf16(t.value), t.pos) for t in raw)
    return Lexed(tokens, None, units)
