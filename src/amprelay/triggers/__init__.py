"""Segment's subscription trigger language (FQL), as @segment/destination-subscriptions 3.37.0.

    >>> t = compile_trigger('type = "track" and event != "Order Completed"')
    >>> t.matches({"type": "track", "event": "Product Viewed"})
    True
"""

from typing import Any

from .ast import Condition, Group, Node
from .format import FormatError, format_trigger
from .trigger import MatchResult, Trigger, TriggerError, compile_trigger, reference_error_text

__all__ = [
    "Condition",
    "FormatError",
    "Group",
    "MatchResult",
    "Node",
    "Trigger",
    "TriggerError",
    "answer_trigger_case",
    "compile_trigger",
    "format_trigger",
    "reference_error_text",
]


def answer_trigger_case(case: dict[str, Any]) -> dict[str, Any]:
    """Answer a conformance case of kind "trigger": {"id", "match", "error"}."""
    trigger = compile_trigger(case.get("trigger", ""))
    result = trigger.evaluate(case.get("event"))
    return {"id": case.get("id"), "match": result.match, "error": reference_error_text(result.error)}
