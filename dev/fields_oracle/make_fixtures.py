"""Regenerate tests/fields/data/ from the reference (needs Node and dev/oracle's node_modules).

    python3 dev/fields_oracle/make_fixtures.py

Random date strings (gen_dates.py) and random payloads for a few field sets (gen_payloads.py's mini sets
plus the reference Amplitude actions' own declarations) are answered by oracle.js; a deterministic
sample is written as fixtures, so the test suite never needs Node.
"""

import json
import random
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent.parent / "tests" / "fields" / "data"
KEEP = ("label", "type", "required", "allowNull", "multiple", "choices", "properties", "additionalProperties",
        "format", "minimum", "maximum")


def strip(spec):
    out = {k: v for k, v in spec.items() if k in KEEP}
    if "choices" in out:
        out["choices"] = [c if isinstance(c, str) else {"label": c.get("label"), "value": c.get("value")}
                          for c in out["choices"]]
    if "properties" in out:
        out["properties"] = {k: strip(v) for k, v in out["properties"].items()}
    return out


def run(cmd, stdin=None):
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=True).stdout


def oracle(lines):
    return [json.loads(x) for x in run(["node", str(HERE / "oracle.js")], "\n".join(lines) + "\n").splitlines()]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20240101)
    # dates
    cases = [json.loads(x) for x in run([sys.executable, str(HERE / "gen_dates.py"), "11", "6000"]).splitlines()]
    fixed = [c for c in cases if c["id"].startswith("f")]
    sample = fixed + rng.sample([c for c in cases if c["id"].startswith("r")], 2500)
    answers = oracle([json.dumps(c) for c in sample])
    with open(OUT / "dates.jsonl", "w") as f:
        for c, a in zip(sample, answers, strict=True):
            f.write(json.dumps({"s": c["date"], "value": a["value"], "dateLike": a["dateLike"], "v8": a["v8"]},
                               ensure_ascii=False) + "\n")
    # field sets
    amp = json.loads(run(["node", str(HERE / "dump_amplitude_fields.js")]))
    fieldsets = {}
    mini = [json.loads(x) for x in run([sys.executable, str(HERE / "gen_payloads.py"), "1", "50"]).splitlines()]
    for c in mini:
        fieldsets[c["fieldset"]] = c["fields"]
    for action in ("logEventV2", "logPurchase", "identifyUser", "groupIdentifyUser", "mapUser"):
        fieldsets["amplitude_" + action] = {k: strip(v) for k, v in amp[action].items()}
    (OUT / "fieldsets.json").write_text(json.dumps(fieldsets, indent=1, ensure_ascii=False) + "\n")
    # payloads: mini sets
    raw = [json.loads(x) for x in run([sys.executable, str(HERE / "gen_payloads.py"), "7", "4000"]).splitlines()]
    # payloads: reference Amplitude sets, generated with the same value pools
    src = (HERE / "gen_payloads.py").read_text().split("for i in range(N):")[0]
    g = {"random": rng, "json": json, "sys": sys}
    exec(src.replace("random.seed(int(sys.argv[1]))", "").replace("N = int(sys.argv[2])", ""), g)
    for i in range(4000):
        name = rng.choice([k for k in fieldsets if k.startswith("amplitude_")])
        fields = fieldsets[name]
        keys = list(fields) + ["unknown"]
        payload = {}
        for k in rng.sample(keys, rng.randint(0, min(12, len(keys)))):
            payload[k] = g["good"](fields[k]) if k in fields and rng.random() < 0.85 else g["val"]()
        for k, s in fields.items():
            if s.get("required") and k not in payload and rng.random() < 0.9:
                payload[k] = g["good"](s)
        raw.append({"id": f"amp{i}", "fieldset": name, "fields": fields, "payload": payload})
    answers = oracle([json.dumps(c) for c in raw])
    ok = [(c, a) for c, a in zip(raw, answers, strict=True) if a["error"] is None]
    bad = [(c, a) for c, a in zip(raw, answers, strict=True) if a["error"] is not None]
    chosen = rng.sample(ok, min(1500, len(ok))) + rng.sample(bad, min(1000, len(bad)))
    with open(OUT / "payloads.jsonl", "w") as f:
        for c, a in chosen:
            f.write(json.dumps({"fieldset": c["fieldset"], "payload": c["payload"], "result": a["result"],
                                "error": a["error"]}, ensure_ascii=False) + "\n")
    print(f"dates: {len(sample)}, payloads: {len(chosen)} ({len(ok)} valid / {len(bad)} invalid generated)")


if __name__ == "__main__":
    main()
