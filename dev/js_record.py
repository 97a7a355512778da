"""Record Node's answers for the rules in ``amprelay.js`` into ``tests/js/data/node_answers.json``.

    python dev/js_record.py        # needs `node` on PATH (Node 20, as the reference)

The inputs are drawn from a fixed seed, plus the corner cases listed here; the tests read the
recorded file and never need Node.
"""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "js" / "data" / "node_answers.json"

CORNER_NUMBERS = [
    0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.5, -2.5, -0.5, 0.49999999999999994, 1e21, 1e20, 1e-7, 1e-6,
    1.5e-7, 123456789012345680000.0, 5e-324, 1.7976931348623157e308, 2.0**53, 2.0**53 + 2, 1e300,
    1.23e-18, 100.0, 4.35, 2.5e25, 0.000001, 1e16, 1e15 + 0.5, 123.456, -1e-7, float("inf"),
    float("-inf"), float("nan"), 4294967295.0, 0.30000000000000004, 1e-5, 9.999999999999999e20,
]
CORNER_STRINGS = [
    "", " ", "0", "-0", "+0", "1", "+1", "-1", "1.", ".5", "-.5", "5.e3", "1e3", "1E-3", "1e", "e1", ".",
    "+", "-", "0x10", "0X1f", "-0x10", "0x", "0o17", "0O8", "0b101", "0b2", "0b", "1_000", "1,5",
    "Infinity", "+Infinity", "-Infinity", "infinity", "inf", "NaN", "nan", " \t\n12\u00a0\u2028",
    "\ufeff3", "\u00850", "\u200b1", "١٢", "１２", "1e400", "-1e400", "1e-400", "0x" + "f" * 300,
    "0o" + "7" * 400, "0b" + "1" * 1100, "00012", "0.0000001", "12abc", "true", "null", "😀", "a😀b",
    "\ud800", "\udc00x", "é", "\u2000\u2001 7 \u3000",
]
ALPHABET = "0123456789.+-eExXoObB _aIn\t\u00a0😀"


def _bits(x: float) -> str:
    return struct.pack(">d", x).hex()


def inputs() -> dict[str, list]:
    rng = random.Random(18)
    numbers = [_bits(x) for x in CORNER_NUMBERS]
    for _ in range(1500):
        numbers.append(struct.pack(">Q", rng.getrandbits(64)).hex())  # any double, NaNs included
    for _ in range(500):
        numbers.append(_bits(rng.choice([1, -1]) * rng.random() * 10 ** rng.randint(-30, 30)))
    for _ in range(300):
        numbers.append(_bits(rng.randint(-(2**60), 2**60) / rng.choice([1, 2, 4, 10, 100])))
    strings = list(CORNER_STRINGS)
    for _ in range(1000):
        strings.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8))))
    for _ in range(300):
        strings.append(repr(rng.uniform(-1e30, 1e30)))
    values: list = [None, True, False, 0, -0.0, 1, 0.5, "", "a", "0", [], [1, None, "x"], {}, {"a": 1},
                    [[1, 2], [3]], {"b": 1, "a": [None]}, "😀", "\ud800", 1e21, 1e-7, [None], 2**53]
    for _ in range(300):
        values.append(rng.choice([rng.random() * 10 ** rng.randint(-10, 25), rng.randint(-9, 9), "x" * rng.randint(0, 2)]))
    keys = ["0", "1", "2", "10", "01", "-1", "1.0", "a", "b", "4294967294", "4294967295", "²", "９", " 1", "_"]
    objects = [[[rng.choice(keys), i] for i in range(rng.randint(0, 6))] for _ in range(300)]
    objects = [[kv for j, kv in enumerate(o) if kv[0] not in {k for k, _ in o[:j]}] for o in objects]
    return {"numbers": numbers, "strings": strings, "values": values, "objects": objects}


def main() -> int:
    data = inputs()
    result = subprocess.run(
        ["node", str(ROOT / "dev" / "js_oracle.js")], input=json.dumps(data), capture_output=True, text=True, check=True
    )
    answers = json.loads(result.stdout)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(answers, ensure_ascii=True, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes, node {answers['node']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
