"""Import a Segment "Actions Amplitude" destination (settings and subscriptions as Segment's
Public API returns them) into an amprelay config, and export one back.

The input is the two Public API answers (docs/segment-import.md, with example files):
``GET /destinations/{id}`` -> ``{"data": {"destination": {"name", "settings", ...}}}`` and
``GET /destinations/{id}/subscriptions`` -> ``{"data": {"subscriptions": [...]}}``, given as two
documents, or combined in one: ``{"destination": <answer>, "subscriptions": <answer>}``, an array
of the two answers (``jq -s``), their merge (``jq -s '.[0] * .[1]'``), or the bare objects
``{"destination": {...}, "subscriptions": [...]}``. The destination answer is optional. Each
subscription has ``name``, ``actionSlug`` (or ``actionId``), ``enabled``, ``trigger`` and
``settings`` (its mapping).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from amprelay.destination import ACTIONS, MAX_SUBSCRIPTIONS

SECRET_SETTINGS = {"apiKey": "AMPLITUDE_API_KEY", "secretKey": "AMPLITUDE_SECRET_KEY"}
KNOWN_SETTINGS = {"apiKey", "secretKey", "endpoint"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


# Every name an action goes by: its key, its title, kebab/snake variants.
_ACTION_ALIASES = {}
for _key, _action in ACTIONS.items():
    for _name in (_key, _action.title):
        _ACTION_ALIASES[_slug(_name)] = _key


def action_key_for(slug_or_title: str | None) -> str | None:
    if not isinstance(slug_or_title, str):
        return None
    return _ACTION_ALIASES.get(_slug(slug_or_title))


@dataclass
class ImportResult:
    config: dict[str, Any]
    problems: list[str] = field(default_factory=list)  # what could not be carried over, and why
    notes: list[str] = field(default_factory=list)  # what was changed on the way (secrets...)
    env: dict[str, str] = field(default_factory=dict)  # ENV name -> where the value is needed


EXPECTED_SHAPE = (
    "expected Segment's Public API answers: GET /destinations/{id} as {\"data\": {\"destination\": {...}}} "
    "and GET /destinations/{id}/subscriptions as {\"data\": {\"subscriptions\": [...]}}, as two files or "
    "combined in one object {\"destination\": ..., \"subscriptions\": ...} (see docs/segment-import.md)")


def _unwrap(*docs: Any) -> tuple[dict[str, Any], list[Any]]:
    """The destination object (or {}) and the subscriptions list from the documents."""
    found: dict[str, Any] = {}

    def take(key: str, value: Any, kind: type, what: str) -> None:
        if value is None:
            return
        if not isinstance(value, kind):
            raise ValueError(f"`{key}` must be {what}; {EXPECTED_SHAPE}")
        if key in found:
            raise ValueError(f"`{key}` given twice; import one destination at a time")
        found[key] = value

    pending = list(docs)
    while pending:
        doc = pending.pop(0)
        if isinstance(doc, list) and all(isinstance(d, dict) for d in doc):
            pending[:0] = doc  # `jq -s` of the two answers
            continue
        if not isinstance(doc, dict):
            raise ValueError(f"found {type(doc).__name__}; {EXPECTED_SHAPE}")
        while isinstance(doc.get("data"), dict):  # the answers' envelope (some tools wrap twice)
            doc = doc["data"]
        d, s = doc.get("destination"), doc.get("subscriptions")
        if isinstance(d, dict) and ("data" in d or "destination" in d or "subscriptions" in d):
            pending.append(d)  # {"destination": <GET answer>, ...}
            d = None
        if isinstance(s, dict):
            pending.append(s)  # {"subscriptions": <GET answer>, ...}
            s = None
        take("destination", d, dict, "an object")
        take("subscriptions", s, list, "an array")
    if "subscriptions" not in found:
        raise ValueError(f"no `subscriptions` array found; {EXPECTED_SHAPE}")
    return found.get("destination") or {}, found["subscriptions"]


def import_segment(*docs: Any, destination_name: str | None = None, env_prefix: str = "") -> ImportResult:
    """``docs``: the Public API answers (one combined document, or both; see the module doc)."""
    dest, subs = _unwrap(*docs)
    result = ImportResult(config={})
    raw_settings = dest.get("settings")
    settings_in: dict[str, Any] = raw_settings if isinstance(raw_settings, dict) else {}
    settings: dict[str, Any] = {}
    for key, env in SECRET_SETTINGS.items():
        name = f"{env_prefix}{env}"
        settings[key] = f"${{{name}}}"
        result.env[name] = f"destination setting {key}"
        if settings_in.get(key):
            result.notes.append(f"settings.{key}: the secret was replaced by ${{{name}}}; export it in the environment")
    endpoint = settings_in.get("endpoint", "north_america")
    if endpoint not in ("north_america", "europe"):
        result.problems.append(f"settings.endpoint {endpoint!r} is not a known region; north_america is used")
        endpoint = "north_america"
    settings["endpoint"] = endpoint
    for key in sorted(set(settings_in) - KNOWN_SETTINGS):
        result.problems.append(f"settings.{key}: not a setting of the Actions Amplitude destination; dropped")

    out_subs: list[dict[str, Any]] = []
    for i, sub in enumerate(subs):
        where = f"subscriptions[{i}]"
        if not isinstance(sub, dict):
            result.problems.append(f"{where}: not an object; dropped")
            continue
        name = sub.get("name") or f"Subscription {i + 1}"
        where = f"{where} ({name!r})"
        slug = sub.get("actionSlug") or sub.get("action")
        action_key = action_key_for(slug)
        if action_key is None:
            what = slug if slug else f"actionId {sub.get('actionId')!r}"
            result.problems.append(
                f"{where}: action {what!r} is not one of amprelay's actions "
                f"({', '.join(sorted(ACTIONS))}) (the Session Plugin is a browser action: use "
                f"/plugins/amplitude-session.js); dropped")
            continue
        if sub.get("modelId"):
            result.problems.append(f"{where}: a Reverse ETL model subscription (modelId); dropped")
            continue
        trigger = sub.get("trigger")
        if not isinstance(trigger, str):
            result.problems.append(f"{where}: no trigger; dropped")
            continue
        mapping = sub.get("settings")
        if mapping is None:
            mapping = {}
        if not isinstance(mapping, dict):
            result.problems.append(f"{where}: settings (the mapping) is not an object; dropped")
            continue
        fields = ACTIONS[action_key].fields
        ignored = [k for k in mapping if k not in fields]
        if ignored:  # Segment ignores them too (they reach no request); validate calls them errors
            mapping = {k: v for k, v in mapping.items() if k in fields}
            result.notes.append(f"{where}: mapping key(s) {', '.join(map(repr, ignored))} dropped: not fields of "
                                f"{action_key}, so Segment ignores them as well")
        entry: dict[str, Any] = {"name": name}
        if sub.get("id"):
            entry["id"] = sub["id"]
        entry.update({"trigger": trigger, "action": action_key, "mapping": mapping, "enabled": bool(sub.get("enabled", True))})
        out_subs.append(entry)
    if len(out_subs) > MAX_SUBSCRIPTIONS:
        result.problems.append(f"{len(out_subs)} subscriptions; a destination accepts at most {MAX_SUBSCRIPTIONS}")

    name = destination_name or _safe_name(dest.get("name")) or "amplitude"
    result.config = {
        "sources": [{"name": "default", "write_key": "${AMPRELAY_WRITE_KEY}"}],
        "destinations": [{"name": name, "settings": settings, "presets": False, "subscriptions": out_subs}],
    }
    result.env["AMPRELAY_WRITE_KEY"] = "the write key your SDKs send"
    return result


def _safe_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", value.strip()).strip("-").lower() or None


def export_segment(config: Any, destination: str | None = None) -> dict[str, Any]:
    """The Public API shape of a configured destination: ``{"data": {"destination": {...},
    "subscriptions": [...]}}``. Secrets are never written: the settings keep their ``${ENV}``
    references (or ``"<secret>"`` for literal values)."""
    from amprelay.config import all_subscriptions

    dests = config.destinations
    if not dests:
        raise ValueError("the config has no destination")
    if destination is None:
        dest = dests[0]
    else:
        matches = [d for d in dests if d.name == destination]
        if not matches:
            raise ValueError(f"no destination named {destination!r} ({', '.join(d.name for d in dests)})")
        dest = matches[0]
    subs = []
    for sub in all_subscriptions(dest):
        from amprelay.config import resolved_mapping

        mapping = resolved_mapping(sub)
        if mapping is None:
            from amprelay.fields import default_mapping

            mapping = default_mapping(ACTIONS[sub.action].fields)
        entry: dict[str, Any] = {}
        if sub.id:
            entry["id"] = sub.id
        entry.update({"name": sub.name, "actionSlug": sub.action, "enabled": sub.enabled,
                      "trigger": sub.trigger, "settings": mapping})
        subs.append(entry)
    return {"data": {"destination": {"name": dest.name, "settings": _export_settings(dest.settings)},
                     "subscriptions": subs}}


def _export_settings(settings: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in settings.items():
        if key in SECRET_SETTINGS:
            out[key] = "<secret>"
        else:
            out[key] = value
    return out
