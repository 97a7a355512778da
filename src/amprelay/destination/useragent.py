"""User-agent parsing with exactly the answers of Segment's Amplitude destination.

The reference parses ``context.userAgent`` with ``@amplitude/ua-parser-js`` 0.7.25 (UAParser.js
0.7.28) and keeps five properties (BEHAVIORS.md item 10)::

    os_name             = os.name ?? browser.name
    os_version          = userAgentData.platformVersion ?? browser.major   (the *browser* major)
    device_manufacturer = device.vendor
    device_model        = userAgentData.model ?? device.model ?? os.name
    device_type         = device.type

No maintained Python library gives those answers (UAParser.js has its own names and rules:
"Mac OS", "Chromium OS", vendor "Samsung", model "K", ...), so this module runs UAParser.js's
own regex tables (``_ua_regexes``, generated verbatim from the npm package by
``dev/ua_gen_tables.py``) with a faithful Python version of its matching loop. JavaScript regex
sources are translated to Python ``re`` once, at import:

* ``re.ASCII``: JS ``\\w``, ``\\d``, ``\\b`` and ``/i`` case folding only know ASCII;
* ``.`` becomes ``[^\\n\\r\\u2028\\u2029]`` (JS ``.`` stops at every line terminator);
* ``$`` becomes ``\\Z`` (JS ``$`` without ``/m`` is the end of the input only);
* replacement templates' ``$1`` becomes ``\\g<1>``.

UAParser.js works on UTF-16 code units and cuts user agents longer than 255 units (after a
JS trim); both are reproduced. Parses are cached per distinct user agent (bounded LRU).
"""

from __future__ import annotations

import re
from array import array
from functools import lru_cache
from typing import Any

from amprelay.destination import _ua_regexes as _tables
from amprelay.js import trim

__all__ = ["parse_user_agent", "parse_user_agent_properties", "UA_CACHE_SIZE", "cache_info", "cache_clear"]

UA_CACHE_SIZE = 4096
UA_MAX_LENGTH = 255  # UAParser.js cuts longer user agents (counted in UTF-16 code units)

_JS_DOT = "[^\\n\\r\\u2028\\u2029]"

# Prop kinds (compiled form of the tables' prop tuples).
KEYS = ("os_name", "os_version", "device_manufacturer", "device_model", "device_type")

_CAPTURE, _CONST, _TRIM, _MAP, _REPLACE = range(5)


def js_regex_to_python(source: str) -> str:
    """Translate a JavaScript regex source (no ``u``/``s``/``m`` flags) to Python ``re`` syntax."""
    out: list[str] = []
    in_class = False
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\":
            if i + 1 >= n:
                raise ValueError(f"dangling escape in {source!r}")
            nxt = source[i + 1]
            if nxt in "cuxk" or (nxt.isdigit() and nxt != "0" and in_class):
                raise ValueError(f"unsupported escape \\{nxt} in {source!r}")
            out.append(ch + nxt)
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif ch == "[":
                ch = "\\["  # literal in JS; Python would warn about a nested set
            out.append(ch)
        elif ch == "[":
            if source.startswith("[]", i) or source.startswith("[^]", i):
                raise ValueError(f"empty JS class in {source!r}")
            in_class = True
            out.append(ch)
            if source.startswith("[^", i):
                out.append("^")
                i += 1
        elif ch == ".":
            out.append(_JS_DOT)
        elif ch == "$":
            out.append("\\Z")
        else:
            out.append(ch)
        i += 1
    if in_class:
        raise ValueError(f"unterminated class in {source!r}")
    return "".join(out)


def _compile(source: str, flags: str) -> re.Pattern[str]:
    unknown = set(flags) - {"i", "g"}
    if unknown:
        raise ValueError(f"unsupported JS regex flags {flags!r}")
    py_flags = re.ASCII | (re.IGNORECASE if "i" in flags else 0)
    return re.compile(js_regex_to_python(source), py_flags)


def _js_replacement(template: str) -> str:
    """A JS ``String.prototype.replace`` template as a Python ``re.sub`` template."""
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch == "\\":
            out.append("\\\\")
        elif ch == "$" and i + 1 < n:
            nxt = template[i + 1]
            if nxt == "$":
                out.append("$")
                i += 1
            elif nxt == "&":
                out.append("\\g<0>")
                i += 1
            elif nxt.isdigit() and nxt != "0":
                out.append(f"\\g<{nxt}>")
                i += 1
            else:
                out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _compile_prop(prop: tuple[Any, ...]) -> tuple[int, str, Any]:
    kind, key = prop[0], prop[1]
    if kind == "capture":
        return (_CAPTURE, key, None)
    if kind == "const":
        return (_CONST, key, prop[2])
    if kind == "fn":
        if prop[2] != "trim":
            raise ValueError(f"unsupported prop function {prop[2]!r}")
        return (_TRIM, key, None)
    if kind == "map":
        return (_MAP, key, _tables.MAPS[prop[2]])
    if kind == "replace":
        source, flags, template = prop[2], prop[3], prop[4]
        count = 0 if "g" in flags else 1
        return (_REPLACE, key, (_compile(source, flags), _js_replacement(template), count))
    raise ValueError(f"unsupported prop {prop!r}")


_Rule = tuple[tuple[re.Pattern[str], ...], tuple[tuple[int, str, Any], ...]]


def _compile_table(rules: tuple[Any, ...]) -> tuple[_Rule, ...]:
    return tuple(
        (tuple(_compile(src, flags) for src, flags in patterns), tuple(_compile_prop(p) for p in props))
        for patterns, props in rules
    )


_BROWSER = _compile_table(_tables.BROWSER)
_OS = _compile_table(_tables.OS)
_DEVICE = _compile_table(_tables.DEVICE)


def _str_mapper(text: str, mapping: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    lowered = text.lower()
    for result, needles in mapping:
        for needle in needles:
            if needle.lower() in lowered:
                return None if result == "?" else result
    return text


def _rgx_map(ua: str, rules: tuple[_Rule, ...]) -> dict[str, Any]:
    """UAParser.js's rgxMapper: the first matching pattern of the first matching rule decides."""
    for patterns, props in rules:
        for rx in patterns:
            m = rx.search(ua)
            if m is None:
                continue
            groups = m.groups()
            ngroups = len(groups)
            out: dict[str, Any] = {}
            for k, (kind, key, arg) in enumerate(props):
                match = groups[k] if k < ngroups else None
                if kind == _CAPTURE:
                    out[key] = match or None
                elif kind == _CONST:
                    out[key] = arg
                elif kind == _TRIM:
                    out[key] = None if match is None else trim(match)
                elif kind == _MAP:
                    out[key] = _str_mapper(match, arg) if match else None
                else:
                    rx2, template, count = arg
                    out[key] = rx2.sub(template, match, count) if match else None
            return out
    return {}


_NON_DIGIT_DOT = re.compile(r"[^\d.]", re.ASCII)


def _majorize(version: str | None) -> str | None:
    if version is None:
        return None
    return _NON_DIGIT_DOT.sub("", version).split(".")[0]


def _to_code_units(text: str) -> str:
    """The string as JavaScript sees it: one character per UTF-16 code unit."""
    return "".join(map(chr, array("H", text.encode("utf-16-le", "surrogatepass"))))


def _from_code_units(value: Any) -> Any:
    if isinstance(value, str) and not value.isascii():
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return value


def parse_user_agent(user_agent: str) -> dict[str, dict[str, Any]]:
    """UAParser.js's browser, os and device results for a user agent (uncached).

    ``{"browser": {name, version, major}, "os": {name, version}, "device": {vendor, model, type}}``
    with ``None`` for undefined.
    """
    ua = user_agent
    astral = not ua.isascii() and any(ord(c) > 0xFFFF for c in ua)
    if astral:
        ua = _to_code_units(ua)
    if len(ua) > UA_MAX_LENGTH:
        ua = trim(ua)[:UA_MAX_LENGTH]
    b = _rgx_map(ua, _BROWSER)
    o = _rgx_map(ua, _OS)
    d = _rgx_map(ua, _DEVICE)
    version = b.get("version")
    result = {
        "browser": {"name": b.get("name"), "version": version, "major": _majorize(version)},
        "os": {"name": o.get("name"), "version": o.get("version")},
        "device": {"vendor": d.get("vendor"), "model": d.get("model"), "type": d.get("type")},
    }
    if astral:
        for part in result.values():
            for key, value in part.items():
                part[key] = _from_code_units(value)
    return result


_Parsed = tuple[Any, Any, Any, Any, Any]  # os_name??browser_name, major, vendor, model, os_name, type


@lru_cache(maxsize=UA_CACHE_SIZE)
def _parse_cached(user_agent: str) -> tuple[Any, Any, Any, Any, Any, Any]:
    r = parse_user_agent(user_agent)
    browser, os_, device = r["browser"], r["os"], r["device"]
    os_name = os_["name"]
    return (
        os_name if os_name is not None else browser["name"],
        browser["major"],
        device["vendor"],
        device["model"],
        os_name,
        device["type"],
    )


def cache_info() -> Any:
    """``functools`` cache statistics of the per-user-agent cache."""
    return _parse_cached.cache_info()


def cache_clear() -> None:
    _parse_cached.cache_clear()
    _PROPERTIES.clear()


def parse_user_agent_properties(user_agent: str | None, user_agent_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The reference's ``parseUserAgentProperties(userAgent, userAgentData)``.

    Returns ``os_name, os_version, device_manufacturer, device_model, device_type`` in that
    order, leaving out the keys whose value is undefined. An empty or missing user agent gives
    ``{}`` whatever ``user_agent_data`` holds. ``userAgentData.platformVersion`` and ``.model``
    win when they are not null/undefined (``""`` is kept, as with JavaScript's ``??``).
    """
    if not user_agent:
        return {}
    uad_version = uad_model = None
    if isinstance(user_agent_data, dict):
        uad_version = user_agent_data.get("platformVersion")
        uad_model = user_agent_data.get("model")
    if type(user_agent) is not str or not (uad_version is None or type(uad_version) is str) \
            or not (uad_model is None or type(uad_model) is str):
        # kept for strings only: 1, 1.0 and true are equal keys, and objects are not keys
        return _properties(user_agent, uad_version, uad_model)
    key = (user_agent, uad_version, uad_model)
    known = _PROPERTIES.get(key)
    if known is None:
        if len(_PROPERTIES) >= UA_CACHE_SIZE:
            _PROPERTIES.clear()
        known = _PROPERTIES[key] = _properties(user_agent, uad_version, uad_model)
    return known.copy()


#: (user agent, userAgentData.platformVersion, .model) -> the properties (copied for each event)
_PROPERTIES: dict[tuple[Any, Any, Any], dict[str, Any]] = {}


def _properties(user_agent: str, uad_version: Any, uad_model: Any) -> dict[str, Any]:
    os_name, major, vendor, model, raw_os_name, device_type = _parse_cached(user_agent)
    os_version = uad_version if uad_version is not None else major
    if uad_model is not None:
        model = uad_model
    elif model is None:
        model = raw_os_name
    out: dict[str, Any] = {}
    if os_name is not None:
        out["os_name"] = os_name
    if os_version is not None:
        out["os_version"] = os_version
    if vendor is not None:
        out["device_manufacturer"] = vendor
    if model is not None:
        out["device_model"] = model
    if device_type is not None:
        out["device_type"] = device_type
    return out
