"""JavaScript strings: UTF-16 code units (``length``, indexing) and the whitespace ``trim`` strips.

Python strings hold code points; JS strings hold UTF-16 code units, so an astral character
(``"😀"``) has length 2 and two indexable halves (lone surrogates).
"""

from __future__ import annotations

__all__ = [
    "WHITESPACE",
    "from_utf16",
    "has_surrogates",
    "to_utf16",
    "trim",
    "utf16_len",
    "utf16_units",
]

#: ECMA-262 WhiteSpace and LineTerminator code points: what ``String.prototype.trim`` and
#: ``ToNumber`` strip, and what a JS regex ``\s`` matches.
WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def trim(text: str) -> str:
    """``String.prototype.trim``."""
    return text.strip(WHITESPACE)


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate or an astral character (its UTF-16 form differs)."""
    return any("\ud800" <= ch <= "\udfff" or ch > "\uffff" for ch in text)


def to_utf16(text: str) -> str:
    """``text`` spelled as JS holds it: astral characters become two surrogate code units."""
    if text.isascii() or max(text) <= "\uffff":
        return text
    out = []
    for ch in text:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            out.append(chr(0xD800 + (cp >> 10)))
            out.append(chr(0xDC00 + (cp & 0x3FF)))
        else:
            out.append(ch)
    return "".join(out)


def from_utf16(units: str) -> str:
    """The inverse of :func:`to_utf16`: surrogate pairs join into code points (lone ones stay)."""
    if not any("\ud800" <= ch <= "\udfff" for ch in units):
        return units
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def utf16_units(text: str) -> list[str]:
    """The UTF-16 code units of ``text`` (what ``text[i]`` indexes in JS)."""
    return list(to_utf16(text))


def utf16_len(text: str) -> int:
    """JS ``text.length``."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ch > "\uffff")
