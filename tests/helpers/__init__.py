"""Helpers shared by the test packages (import them explicitly: `from tests.helpers.relay import ...`)."""
