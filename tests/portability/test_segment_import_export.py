import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import yaml

from amprelay.config import parse_config
from amprelay.destination import Settings
from amprelay.engine import Subscription, compile_subscription
from amprelay.portability.segment import export_segment, import_segment

CONF = Path(__file__).resolve().parents[1] / "conformance"
ENV = {"AMPLITUDE_API_KEY": "k", "AMPLITUDE_SECRET_KEY": "s", "AMPRELAY_WRITE_KEY": "w"}


def conformance_action_cases(limit=None):
    cases = []
    for f in sorted((CONF / "cases").glob("*.jsonl")):
        for line in f.read_text().splitlines():
            c = json.loads(line)
            if c["kind"] == "action" and isinstance(c.get("mapping"), dict):
                cases.append(c)
    return cases[:limit] if limit else cases


def segment_export(cases):
    subs = []
    for i, c in enumerate(cases):
        subs.append({"id": f"sub{i:04d}", "name": f"Sub {i}", "actionId": f"act{i}", "actionSlug": c["action"],
                     "destinationId": "dest1", "modelId": "", "enabled": True,
                     "trigger": f'type = "{c["event"].get("type", "track")}"' if isinstance(c.get("event"), dict)
                     else 'type = "track"',
                     "settings": c["mapping"]})
    return {"data": {"destination": {"name": "Actions Amplitude", "settings": {
        "apiKey": "REALKEY", "secretKey": "REALSECRET", "endpoint": "europe"}}, "subscriptions": subs}}


def load(result):
    return parse_config(yaml.safe_dump(result.config), "<imported>", ENV).config


def test_import_then_export_gives_back_the_same_subscriptions():
    doc = segment_export(conformance_action_cases(40))
    result = import_segment(doc)
    assert result.problems == []
    exported = export_segment(load(result))
    original = {s["id"]: s for s in doc["data"]["subscriptions"]}
    back = exported["data"]["subscriptions"]
    assert len(back) == len(original)
    for s in back:
        o = original[s["id"]]
        assert (s["name"], s["actionSlug"], s["enabled"], s["trigger"]) == (o["name"], o["actionSlug"], o["enabled"],
                                                                          o["trigger"])
        assert s["settings"] == o["settings"]
    assert exported["data"]["destination"]["settings"]["endpoint"] == "europe"


def test_secrets_become_env_references_and_are_never_written():
    result = import_segment(segment_export(conformance_action_cases(2)))
    text = yaml.safe_dump(result.config)
    assert "REALKEY" not in text and "REALSECRET" not in text
    assert result.config["destinations"][0]["settings"]["apiKey"] == "${AMPLITUDE_API_KEY}"
    exported = json.dumps(export_segment(load(result)))
    assert '"k"' not in exported and "<secret>" in exported


def valid_mapping(case):
    from amprelay.mapping import MappingValidationError, validate_mapping

    try:
        validate_mapping(case["mapping"])
    except MappingValidationError:
        return False
    return True


@pytest.mark.parametrize("chunk", range(4))
def test_imported_config_previews_like_the_original_mappings(chunk):
    cases = [c for c in conformance_action_cases() if valid_mapping(c)][chunk * 50:(chunk + 1) * 50]
    assert len(cases) == 50
    result = import_segment(segment_export(cases))
    config = load(result)
    dest = config.destinations[0]
    settings = Settings.from_dict({"apiKey": "k", "secretKey": "s", "endpoint": "europe"})
    for sub_cfg, case in zip(dest.subscriptions, cases, strict=True):
        imported = compile_subscription(Subscription(sub_cfg.name, sub_cfg.trigger, sub_cfg.action, sub_cfg.mapping))
        original = compile_subscription(Subscription("o", sub_cfg.trigger, case["action"], case["mapping"]))
        ev = case["event"]
        assert imported.matches(ev) == original.matches(ev)
        try:
            want = [(r.url, r.decoded_body()) for r in original.run(ev, settings, 1704067200000)]
        except Exception as exc:
            with pytest.raises(type(exc)):
                imported.run(ev, settings, 1704067200000)
            continue
        got = [(r.url, r.decoded_body()) for r in imported.run(ev, settings, 1704067200000)]
        assert got == want


def test_what_cannot_be_carried_over_is_listed():
    doc = {"data": {"destination": {"settings": {"apiKey": "x", "secretKey": "y", "weird": 1}}, "subscriptions": [
        {"name": "Sessions", "actionSlug": "sessionId", "enabled": True, "trigger": 'type = "track"', "settings": {}},
        {"name": "RETL", "actionSlug": "logEventV2", "modelId": "m1", "trigger": 'type = "track"', "settings": {}},
        {"name": "OK", "actionSlug": "Log Event V2", "enabled": False, "trigger": 'type = "track"', "settings": {}},
    ]}}
    result = import_segment(doc)
    assert len(result.problems) == 3
    assert any("weird" in p for p in result.problems)
    assert any("Sessions" in p for p in result.problems)
    assert any("RETL" in p for p in result.problems)
    (sub,) = result.config["destinations"][0]["subscriptions"]
    assert sub["action"] == "logEventV2" and sub["enabled"] is False


def test_cli_exits_non_zero_unless_allow_partial(tmp_path):
    doc = {"subscriptions": [{"name": "X", "actionSlug": "nope", "trigger": 'type = "track"', "settings": {}},
                             {"name": "Y", "actionSlug": "logEventV2", "trigger": 'type = "track"', "settings": {}}]}
    src = tmp_path / "export.json"
    src.write_bytes(orjson.dumps(doc))
    out = tmp_path / "amprelay.yaml"
    cmd = [sys.executable, "-m", "amprelay.cli.main", "import-segment", str(src), "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 1 and "nope" in r.stderr and not out.exists()
    r = subprocess.run(cmd + ["--allow-partial"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "logEventV2" in out.read_text()
    r = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "export-segment", "-c", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert [s["name"] for s in json.loads(r.stdout)["data"]["subscriptions"]] == ["Y"]


# --- the input shapes (docs/segment-import.md) -------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "segment-import"


def _answers():
    return (json.loads((DOCS / "destination.json").read_text()), json.loads((DOCS / "subscriptions.json").read_text()))


def test_the_documented_example_imports_and_validates():
    dest, subs = _answers()
    result = import_segment(dest, subs)
    assert result.problems == []
    config = load(result)
    [d] = config.destinations
    assert d.settings["endpoint"] == "europe" and d.settings["apiKey"] == "k"  # from ${AMPLITUDE_API_KEY}
    assert [s.name for s in d.subscriptions] == ["Track Calls", "Group Calls"]
    assert "0123456789abcdef" not in yaml.safe_dump(result.config)


@pytest.mark.parametrize("shape", ["two files", "two files reversed", "object of answers", "jq -s", "jq merge",
                                   "bare objects"])
def test_every_documented_way_of_combining_the_two_answers(tmp_path, shape):
    dest, subs = _answers()
    combined = {
        "object of answers": [{"destination": dest, "subscriptions": subs}],
        "jq -s": [[dest, subs]],
        "jq merge": [{"data": {**dest["data"], **subs["data"]}}],
        "bare objects": [{"destination": dest["data"]["destination"], "subscriptions": subs["data"]["subscriptions"]}],
        "two files": [dest, subs],
        "two files reversed": [subs, dest],
    }[shape]
    paths = []
    for i, doc in enumerate(combined):
        paths.append(tmp_path / f"in{i}.json")
        paths[-1].write_text(json.dumps(doc))
    out = tmp_path / "amprelay.yaml"
    r = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "import-segment", *map(str, paths), "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load(out.read_text()) == import_segment(*_answers()).config


@pytest.mark.parametrize("doc", [{"destination": {"name": "x"}}, [1, 2], {"data": {"subscriptions": {"x": 1}}}])
def test_a_wrong_shape_names_the_expected_one(tmp_path, doc):
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    r = subprocess.run([sys.executable, "-m", "amprelay.cli.main", "import-segment", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert "GET /destinations/{id}/subscriptions" in r.stderr and "docs/segment-import.md" in r.stderr


def test_mapping_keys_segment_ignores_are_dropped_with_a_note():
    dest, subs = _answers()
    subs["data"]["subscriptions"][1]["settings"]["__segment_internal_sync_mode"] = "upsert"
    result = import_segment(dest, subs)
    assert result.problems == [] and "__segment_internal_sync_mode" not in str(result.config)
    assert any("'__segment_internal_sync_mode' dropped" in n for n in result.notes)
