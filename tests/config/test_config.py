import pytest

from amprelay.config import ConfigError, all_subscriptions, config_from_env, parse_config, resolved_mapping

ENV = {"AMP_KEY": "k" * 32, "AMP_SECRET": "s" * 32, "WK": "write-key-1"}

VALID = """
sources:
  - name: web
    write_key: ${WK}
destinations:
  - name: amplitude
    settings:
      apiKey: ${AMP_KEY}
      secretKey: ${AMP_SECRET}
      endpoint: europe
    presets: true
    subscriptions:
      - name: Signups
        trigger: type = "track" and event = "Signed Up"
        action: logEventV2
        mapping:
          defaults: true
          event_type: Signup
"""


def problems(text, env=ENV):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "amprelay.yaml", env)
    return info.value.problems


def test_valid_config_with_env_secrets_and_presets():
    loaded = parse_config(VALID, "amprelay.yaml", ENV)
    dest = loaded.config.destinations[0]
    assert dest.settings["apiKey"] == "k" * 32
    subs = all_subscriptions(dest)
    assert [s.name for s in subs][-1] == "Signups"
    assert {"Track Calls", "Page Calls", "Screen Calls", "Identify Calls", "Order Completed Calls"} <= {
        s.name for s in subs}
    mapping = resolved_mapping(subs[-1])
    assert mapping["event_type"] == "Signup"
    assert mapping["user_id"] == {"@path": "$.userId"}  # from the action's defaults
    assert "defaults" not in mapping


def test_write_key_is_secret_in_repr():
    loaded = parse_config(VALID, "amprelay.yaml", ENV)
    assert "write-key-1" not in repr(loaded.config)


def test_missing_secret_names_file_line_and_variable():
    (p,) = problems(VALID, {"AMP_KEY": "k", "WK": "w"})[:1]
    assert p.file == "amprelay.yaml" and p.line == 9
    assert "AMP_SECRET" in p.message
    assert "amprelay.yaml:9" in str(p)


def test_unknown_action_and_invalid_trigger_and_mapping():
    text = VALID.replace("action: logEventV2", "action: logEventV3")
    (p,) = problems(text)
    assert p.line == 15 and "unknown action 'logEventV3'" in p.message

    text = VALID.replace('trigger: type = "track" and event = "Signed Up"', 'trigger: ((type = "track"))')
    (p,) = problems(text)
    assert p.line == 14 and p.message.startswith("invalid trigger")

    text = VALID.replace("event_type: Signup", "event_type: {\"@template\": 5}")
    (p,) = problems(text)
    assert p.line == 16 and "invalid mapping" in p.message and "@template" in p.message


def test_more_than_50_subscriptions():
    subs = "".join(
        f"      - {{name: S{i}, trigger: 'type = \"track\"', action: logEventV2}}\n" for i in range(46))
    text = VALID.split("    subscriptions:")[0] + "    subscriptions:\n" + subs
    (p,) = problems(text)
    assert "51 subscriptions" in p.message and "at most 50" in p.message


def test_unknown_keys_and_wrong_types_are_reported_with_lines():
    text = VALID + "queue:\n  backend: mysql\n  bogus: 1\n"
    ps = problems(text)
    messages = {(p.path, p.line) for p in ps}
    assert ("queue.backend", 20) in messages
    assert ("queue.bogus", 21) in messages


def test_yaml_syntax_error_has_a_line():
    (p,) = problems("sources:\n  - name: [unclosed\n")
    assert p.line is not None and "not valid YAML" in p.message


def test_config_from_environment():
    env = {"AMPRELAY_WRITE_KEY": "wk", "AMPLITUDE_API_KEY": "a", "AMPLITUDE_SECRET_KEY": "b"}
    loaded = config_from_env(env)
    assert loaded.config.sources[0].write_key.get_secret_value() == "wk"
    assert loaded.config.destinations[0].presets is True
    with pytest.raises(ConfigError) as info:
        config_from_env({"AMPLITUDE_API_KEY": "a"})
    [p] = info.value.problems  # one line naming every variable, and no line of a file that does not exist
    assert p.line is None and str(p) == (
        "<environment>: no config file, and AMPRELAY_WRITE_KEY, AMPLITUDE_SECRET_KEY are not set in the "
        "environment (set them, or give --config FILE)")
    # tools that send nothing need none of them
    assert config_from_env({}, secrets=False).config.destinations[0].presets is True
