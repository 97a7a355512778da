"""Record what Node's ``JSON.parse`` answers for a corpus of generated documents.

    python3 dev/json_oracle.py [--count 4000] [--seed 14] [--out tests/server/data/json_parse_oracle.jsonl]

Each document is bytes (a request body). Node decodes them as ingest does (UTF-8, fatal on an
invalid sequence, a byte order mark kept) and runs ``JSON.parse``; the answer line is
``{"doc": <base64>, "ok": true, "stringify": JSON.stringify(value)}`` or
``{"doc": ..., "ok": false, "utf8": false|true, "error": message}``. The tests
(tests/server/test_json_parse_oracle.py) check ``amprelay.js.json.parse`` against these answers
without Node. Needs ``node`` on PATH (any version >= 12: lone surrogates are escaped).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import subprocess
from pathlib import Path

NODE = r"""
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
const dec = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true});
const out = [];
for (const line of lines) {
  const doc = JSON.parse(line).doc;
  const bytes = Buffer.from(doc, 'base64');
  let text;
  try { text = dec.decode(bytes); } catch (e) { out.push({doc, ok: false, utf8: false, error: e.message}); continue; }
  try { out.push({doc, ok: true, stringify: JSON.stringify(JSON.parse(text))}); }
  catch (e) { out.push({doc, ok: false, utf8: true, error: e.message}); }
}
process.stdout.write(out.map(o => JSON.stringify(o)).join('\n') + '\n');
"""

# Hand-picked bodies at the edges of the grammar (each also mutated below).
SEEDS: list[bytes] = [
    b"{}", b"[]", b'{"a":1}', b"NaN", b"[NaN]", b"Infinity", b"-Infinity", b'{"x":-Infinity}', b"[1e400]",
    b"[-1e400]", b"[-0]", b"[-0.0]", b"[0.1]", b"[01]", b"[1.]", b"[.5]", b"[+1]", b"[1e]", b"[1E+2]", b"[1e-2]",
    b"[123456789012345678901234567890]", b"[9007199254740993]", b"[" + b"9" * 400 + b"]", b'"\\ud800"',
    b'"\\udfff\\ud800"', b'"\\ud83d\\ude00"', b'"\\u00e9"', b'"\\x41"', b'"\\u12"', b"'a'", b'{"a":1,}', b"[1,]",
    b"[1 2]", b'{"a" 1}', b"{a:1}", b"/* c */{}", b"{} // c", b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00",
    '{"a":1}'.encode("utf-16-le"), '{"a":1}'.encode("utf-16-be"), b'["\xff"]', b'["\xc0\xaf"]',
    b'["\xed\xa0\x80"]', b'["\xf4\x90\x80\x80"]', b'["\xe2\x82"]', b'["\x00"]', b'["\x1f"]', b'["\x7f"]',
    b'["\t"]', "[\"\u2028\u2029\"]".encode(), b"\x0b[]", b"\x0c[]", "\u00a0[]".encode(), b" \t\r\n[] \n",
    b'{"__proto__":1}', b'{"a":1,"a":2}', b'{"1":1,"a":2,"0":3,"01":4,"4294967295":5,"4294967294":6}',
    b"true", b"tru", b"null", b"nul", b'"a"', b"1", b"", b" ", b"[[[[[[[[[[]]]]]]]]]]", b"[" * 300 + b"]" * 300,
    b'{"a":' * 200 + b"1" + b"}" * 200, b'"\\/"', b'"\\b\\f\\n\\r\\t\\"\\\\"', b'"\\a"', b'"\\U0041"',
]

TOKENS = [
    "NaN", "Infinity", "-", "+", ".", "e", "E", "0", "1", "'", '"', "\\", "\x00", "\x1f", "\u00a0", "\x0b",
    "\x0c", ",", ":", "]", "}", "[", "{", "//", "/*", "\ufeff", "\\x", "\\u12", "\\ud800", "\\udc00", "\u2028",
    "true", "null", " ", "\n", "\U0001f600", "é",
]
BAD_BYTES = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80", b"\xe2\x82", b"\xf5\x80\x80\x80"]


def _string(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 6)):
        kind = rng.random()
        if kind < 0.4:
            parts.append(rng.choice(["a", "Z", "é", "日本", "\U0001f600", " ", "0", "-"]))
        elif kind < 0.6:
            parts.append(rng.choice(["\\n", "\\t", '\\"', "\\\\", "\\/", "\\u0041", "\\u00e9", "\\b"]))
        elif kind < 0.8:
            parts.append(rng.choice(["\\ud800", "\\udbff", "\\udc00", "\\udfff", "\\ud83d\\ude00", "\\uD800"]))
        else:
            parts.append(f"\\u{rng.randrange(0x10000):04x}")
    return '"' + "".join(parts) + '"'


def _number(rng: random.Random) -> str:
    return rng.choice([
        str(rng.randint(-1000, 1000)), str(rng.randint(-(2**70), 2**70)), f"{rng.uniform(-1e6, 1e6)!r}",
        f"{rng.uniform(-9, 9):.17g}e{rng.randint(-330, 330)}", "0", "-0", "1e21",
        "1E-7", "123.456e+3", "5e-324", "1.7976931348623157e308", "9007199254740993", "0.30000000000000004",
    ])


def _value(rng: random.Random, depth: int = 0) -> str:
    r = rng.random()
    if depth > 4 or r < 0.35:
        return rng.choice([_string, _number, lambda _r: rng.choice(["true", "false", "null"])])(rng)
    ws = lambda: rng.choice(["", "", " ", "\n", "\t", "\r\n  "])  # noqa: E731
    if r < 0.65:
        items = [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        return "[" + ws() + ("," + ws()).join(items) + ws() + "]"
    keys = [rng.choice(['"a"', '"b"', '"0"', '"12"', '"01"', '"__proto__"', '"é"', _string(rng)])
            for _ in range(rng.randint(0, 4))]
    return "{" + ws() + ",".join(f"{k}{ws()}:{ws()}{_value(rng, depth + 1)}" for k in keys) + ws() + "}"


def _mutate(rng: random.Random, doc: bytes) -> bytes:
    for _ in range(rng.randint(1, 3)):
        pos = rng.randint(0, len(doc))
        op = rng.random()
        if op < 0.45:
            doc = doc[:pos] + rng.choice(TOKENS).encode("utf-8", "surrogatepass") + doc[pos:]
        elif op < 0.75:
            doc = doc[:pos] + doc[pos + rng.randint(1, 3):]
        elif op < 0.9:
            doc = doc[:pos] + rng.choice(TOKENS).encode() + doc[pos + 1:]
        else:
            doc = doc[:pos] + rng.choice(BAD_BYTES) + doc[pos:]
    return doc


def corpus(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    docs = list(SEEDS)
    while len(docs) < count:
        r = rng.random()
        if r < 0.45:
            docs.append(_value(rng).encode())
        elif r < 0.8:
            docs.append(_mutate(rng, _value(rng).encode()))
        else:
            docs.append(_mutate(rng, rng.choice(SEEDS)))
    return list(dict.fromkeys(docs))  # unique, order kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1]
                                          / "tests/server/data/json_parse_oracle.jsonl"))
    args = ap.parse_args()
    docs = corpus(args.count, args.seed)
    stdin = "".join(json.dumps({"doc": base64.b64encode(d).decode()}) + "\n" for d in docs)
    result = subprocess.run(["node", "-e", NODE], input=stdin, capture_output=True, text=True, check=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(result.stdout)
    answers = [json.loads(line) for line in result.stdout.split("\n") if line]
    accepted = sum(a["ok"] for a in answers)
    print(f"{len(answers)} documents, {accepted} accepted by JSON.parse, written to {out}")


if __name__ == "__main__":
    main()
