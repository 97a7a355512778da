import pytest

from amprelay.relay.routing import destination_enabled


@pytest.mark.parametrize(
    ("integrations", "enabled"),
    [
        (None, True),
        ({}, True),
        ({"All": True}, True),
        ({"All": False}, False),
        ({"All": False, "Actions Amplitude": True}, True),
        ({"All": False, "Actions Amplitude": {"session_id": 1704067200000}}, True),
        ({"All": False, "Actions Amplitude": {}}, True),
        ({"Actions Amplitude": False}, False),
        ({"All": True, "Actions Amplitude": False}, False),
        ({"All": False, "Actions Amplitude": 0}, False),
        ({"All": False, "Actions Amplitude": ""}, False),
        ({"Mixpanel": False}, True),
        ("not an object", True),
    ],
)
def test_integrations_object(integrations, enabled):
    msg = {"type": "track", "event": "x"}
    if integrations is not None:
        msg["integrations"] = integrations
    assert destination_enabled(msg) is enabled
