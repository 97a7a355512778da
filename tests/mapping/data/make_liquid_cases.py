"""Writes liquid.cases.jsonl: every template of liquid_templates.txt (one a line, `\\n` escapes a
newline) against three events. Answers: record_reference.js -> liquid.expected.jsonl."""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EVENTS = [
    {"event": "Order Completed", "name": "", "userId": "u1", "n": 0, "f": 1.5, "neg": -2.5, "s": "Hello World",
     "arr": [1, "a", None], "obj": {"a": 1, "size": 9}, "nul": None, "t": True, "fa": False, "str5": "5",
     "properties": {"revenue": 3, "price": "4.5", "tags": ["x", "y"], "title": "  Big  <b>Deal</b> & co  "},
     "traits": {"email": "A@B.com"}},
    {"event": "", "userId": None, "properties": {}, "n": "abc", "s": "", "arr": [], "obj": {}},
    {"event": 5, "properties": {"revenue": "0", "price": None}, "s": "a,b,,c,,", "arr": [[1, 2], [3]], "n": -7,
     "f": "1e3"},
]


def main() -> None:
    with open(os.path.join(HERE, "liquid_templates.txt")) as fh:
        templates = [line.rstrip("\n").replace("\\n", "\n") for line in fh if line.strip()]
    for i, tpl in enumerate(templates):
        for j, ev in enumerate(EVENTS):
            case = {"id": f"liquid-{i:03d}-{j}", "kind": "mapping", "mapping": {"x": {"@liquid": tpl}}, "event": ev}
            sys.stdout.write(json.dumps(case) + "\n")


if __name__ == "__main__":
    main()
