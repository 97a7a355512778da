"""`check-auth` and `delete-user` with `--config FILE [--destination NAME]`: the destination's
keys and the config's delivery.amplitude_url; only that destination's secrets are needed."""

from __future__ import annotations

import pytest

from amprelay.cli.main import main
from amprelay.fakeamp import run_in_thread

CONFIG = """\
sources:
  - name: web
    write_key: ${{NOT_SET_WRITE_KEY}}
destinations:
  - name: us
    settings: {{apiKey: "${{US_API_KEY}}", secretKey: "${{US_SECRET}}"}}
  - name: eu
    settings: {{apiKey: eu-key-0001, secretKey: eu-secret-0001, endpoint: europe}}
delivery: {{amplitude_url: "{url}"}}
"""


@pytest.fixture
def strict_fake():
    server = run_in_thread(valid_api_keys=("eu-key-0001", "us-key-0001"), secret_keys=("eu-secret-0001", "us-s"))
    yield server
    server.stop()


@pytest.fixture
def config_file(tmp_path, strict_fake):
    path = tmp_path / "amprelay.yaml"
    path.write_text(CONFIG.format(url=strict_fake.url))
    return str(path)


def test_check_auth_takes_a_destination_of_the_config(config_file, strict_fake, capsys, monkeypatch):
    # the stand-in accepts only the eu destination's keys; no write key needed
    assert main(["check-auth", "--config", config_file, "--destination", "eu"]) == 0
    assert "region europe" in capsys.readouterr().out
    # the other destination's secrets are not set: said in one line, nothing sent
    assert main(["check-auth", "-c", config_file, "-d", "us"]) == 2
    err = capsys.readouterr().err
    assert "settings.apiKey needs the environment variable US_API_KEY" in err and len(err.splitlines()) == 1
    monkeypatch.setenv("US_API_KEY", "us-key-0001")
    monkeypatch.setenv("US_SECRET", "wrong")
    assert main(["check-auth", "-c", config_file, "-d", "us"]) == 1
    assert "401" in capsys.readouterr().err


def test_delete_user_takes_a_destination_of_the_config(config_file, strict_fake, capsys):
    assert main(["delete-user", "user-9", "--config", config_file, "--destination", "eu"]) == 0
    [rec] = strict_fake.events(kind="deletion")
    assert rec["data"] == {"user_ids": ["user-9"], "requester": "segment"} and rec["api_key"] == "eu-key-0001"
    assert rec["path"] == "/api/2/deletions/users"  # sent to the config's delivery.amplitude_url


@pytest.mark.parametrize("command", [["check-auth"], ["delete-user", "u1"]])
@pytest.mark.parametrize("args, message", [
    ([], "has 2 destinations: name one with --destination (us, eu)"),
    (["-d", "asia"], "has no destination 'asia'; it has: us, eu"),
    (["-d", "eu", "--settings", "s.json"], "give --settings or --config, not both"),
])
def test_config_mistakes_are_one_line(config_file, capsys, command, args, message):
    assert main([*command, "--config", config_file, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1


def test_destination_needs_config(capsys):
    assert main(["check-auth", "--destination", "eu"]) == 2
    assert "--destination needs --config" in capsys.readouterr().err
