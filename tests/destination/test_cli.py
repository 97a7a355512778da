"""amprelay preview / check-auth / delete-user."""

import io
import json

import orjson
import pytest

from amprelay.cli.main import main
from amprelay.cli.preview import run_jsonl
from amprelay.fakeamp import run_in_thread

API_KEY = "key-abcdef123456"
SECRET = "secret-987654zyx"


@pytest.fixture
def settings_file(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"apiKey": API_KEY, "secretKey": SECRET, "endpoint": "north_america"}))
    return str(path)


@pytest.fixture(scope="module")
def fake():
    server = run_in_thread(valid_api_keys=(API_KEY,), secret_keys=(SECRET,))
    yield server
    server.stop()


def test_preview_jsonl_answers_each_line_in_order():
    cases = [
        {"id": "1", "kind": "trigger", "trigger": 'type = "track"', "event": {"type": "track"}},
        {"id": "2", "kind": "action", "action": "mapUser", "settings": {"apiKey": "k"}, "mapping": None,
         "event": {"userId": "u", "previousId": "p"}},
    ]
    stdin = io.BytesIO(b"".join(orjson.dumps(c) + b"\n" for c in cases) + b"\nnot json\n")
    stdout = io.BytesIO()
    assert run_jsonl(stdin, stdout, 1704067200000) == 0
    answers = [orjson.loads(line) for line in stdout.getvalue().splitlines()]
    assert [a["id"] for a in answers] == ["1", "2", None]
    assert answers[0]["match"] is True
    assert answers[1]["requests"][0]["body"]["mapping"] == [{"user_id": "p", "global_user_id": "u"}]
    assert answers[2]["error"]


def test_preview_jsonl_drops_functions_reached_through_a_prototype():
    # Answers recorded from the reference (dev/oracle): JSON.stringify drops a function in an
    # object and writes null for one in an array; a field's type error names it a function.
    cases = [
        {"id": "m", "kind": "mapping", "event": {"type": "track", "properties": {"items": [1]}},
         "mapping": {"f0": {"@path": "$.properties.items.map"}, "f1": [{"@path": "$.properties.constructor"}]}},
        {"id": "a", "kind": "action", "action": "logEventV2", "settings": {"apiKey": "k", "secretKey": "s"},
         "mapping": {"user_id": "u1234", "event_type": "x", "time": {"@path": "$.properties.toString"}},
         "event": {"type": "track", "event": "a", "properties": {}}},
    ]
    stdin = io.BytesIO(b"".join(orjson.dumps(c) + b"\n" for c in cases))
    stdout = io.BytesIO()
    assert run_jsonl(stdin, stdout, 1704067200000) == 0
    mapping, action = (orjson.loads(line) for line in stdout.getvalue().splitlines())
    assert mapping == {"id": "m", "result": {"f1": [None]}, "error": None}
    assert action["requests"] == []
    assert action["error"]["message"] == "Timestamp must be a string or number but it was a function."


def test_preview_friendly_masks_secrets(tmp_path, settings_file, capsys):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"type": "track", "event": "Signed Up", "userId": "user-1", "context": {}}))
    assert main(["preview", "--settings", settings_file, "--now", "1704067200000", str(event)]) == 0
    out = capsys.readouterr().out
    assert "preset 'Track Calls'" in out and "https://api2.amplitude.com/2/httpapi" in out
    assert '"Signed Up"' in out
    assert API_KEY not in out and SECRET not in out and "********" in out


def test_preview_friendly_action_mapping_and_errors(tmp_path, settings_file, capsys):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"type": "identify", "userId": "user-1", "traits": {"a": 1}}))
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"user_id": {"@path": "$.userId"}, "user_properties": {"@path": "$.traits"}}))
    assert main(["preview", "--action", "identifyUser", "--mapping", str(mapping), "--settings", settings_file,
                 str(event)]) == 0
    out = capsys.readouterr().out
    assert "https://api2.amplitude.com/identify" in out and API_KEY not in out
    assert main(["preview", "--action", "logEventV2", "--settings", settings_file, str(event)]) == 1
    assert "event_type" in capsys.readouterr().out
    assert main(["preview", "--action", "nope", str(event)]) == 1


def test_check_auth_ok_and_rejected(fake, settings_file, tmp_path, capsys):
    assert main(["check-auth", "--settings", settings_file, "--amplitude-url", fake.url]) == 0
    assert "OK" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"apiKey": API_KEY, "secretKey": "wrong"}))
    assert main(["check-auth", "--settings", str(bad), "--amplitude-url", fake.url]) == 1
    err = capsys.readouterr().err
    assert "401" in err and "wrong" not in err


def test_check_auth_from_environment_and_incomplete_settings(fake, monkeypatch, capsys):
    monkeypatch.setenv("AMPLITUDE_API_KEY", API_KEY)
    monkeypatch.setenv("AMPLITUDE_SECRET_KEY", SECRET)
    monkeypatch.setenv("AMPLITUDE_REGION", "europe")
    assert main(["check-auth", "--amplitude-url", fake.url]) == 0
    monkeypatch.delenv("AMPLITUDE_SECRET_KEY")
    assert main(["check-auth", "--amplitude-url", fake.url]) == 2
    assert "Secret Key" in capsys.readouterr().err


def test_check_auth_unreachable(settings_file):
    assert main(["check-auth", "--settings", settings_file, "--amplitude-url", "http://127.0.0.1:9", "--timeout", "2"]) == 2


def test_delete_user_one_request_per_user(fake, settings_file, capsys):
    fake.reset()
    assert main(["delete-user", "--settings", settings_file, "--amplitude-url", fake.url, "user-1", "user-2"]) == 0
    out = capsys.readouterr().out
    assert "OK user-1" in out and "OK user-2" in out and "2/2" in out
    deletions = fake.events(kind="deletion")
    assert [d["path"] for d in deletions] == ["/api/2/deletions/users"] * 2
    assert [d["data"] for d in deletions] == [
        {"user_ids": ["user-1"], "requester": "segment"},
        {"user_ids": ["user-2"], "requester": "segment"},
    ]


def test_delete_user_rejected(fake, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"apiKey": "nope", "secretKey": SECRET}))
    assert main(["delete-user", "--settings", str(bad), "--amplitude-url", fake.url, "user-1"]) == 1
    assert "FAILED user-1: HTTP 401" in capsys.readouterr().err
