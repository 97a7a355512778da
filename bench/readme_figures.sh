#!/usr/bin/env bash
# Every performance figure in README.md, in the order the README gives them: each command 3 times
# (or with --runs 3), so each figure is min / median / max of 3 runs. About 27 minutes on the
# project's 2-core machine; run it on a quiet machine (nothing else using the CPU).
#
#     bash bench/readme_figures.sh > figures.txt
#
# Each bench starts its own relay, Amplitude stand-in and load generator; scale.py and pg_queue.py
# need PostgreSQL (AMPRELAY_TEST_PG_DSN, else postgresql://postgres@127.0.0.1:5432/test).
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
run() { echo "### $*  ($(date -u +%FT%TZ))"; timeout 400 "$@" 2>&1 | tail -14; }
for _ in 1 2 3; do run "$PY" bench/compare_transform.py --seconds 10; done
for _ in 1 2 3; do run "$PY" bench/ingest.py --rate 20000 --duration 15; done
for _ in 1 2 3; do run "$PY" bench/ingest.py --endpoint track --rate 6000 --duration 15; done
for _ in 1 2 3; do run "$PY" bench/sustained.py --rate 9000 --duration 60 --workers 1; done
for _ in 1 2 3; do run "$PY" bench/sustained.py --endpoint track --rate 3000 --duration 60 --workers 1; done
for _ in 1 2 3; do run "$PY" bench/ingest.py --rate 20000 --duration 15 --ingest-processes 2; done
for _ in 1 2 3; do run "$PY" bench/ingest.py --endpoint track --rate 6000 --duration 15 --ingest-processes 2; done
for _ in 1 2 3; do run "$PY" bench/ingest.py --endpoint track --rate 0 --duration 10 --ingest-processes 2; done
for _ in 1 2 3; do run "$PY" bench/sustained.py --endpoint track --rate 3000 --duration 60 --ingest-processes 2; done
for _ in 1 2 3; do run "$PY" bench/sustained.py --rate 9000 --duration 60 --workers 1 --ingest-processes 2; done
run "$PY" bench/scale.py --relays 1,2 --runs 3
run "$PY" bench/scale.py --relays 1,2 --runs 3 --no-sqlite --no-settle
run "$PY" bench/scale.py --relays 1,2 --runs 3 --no-sqlite --connections 32
for _ in 1 2 3; do run "$PY" bench/scale.py --relays 1 --no-sqlite --events 400000; done
for _ in 1 2 3; do run "$PY" bench/scale.py --relays 1 --no-sqlite --events 400000 --no-vacuum; done
run "$PY" bench/pg_queue.py --runs 3
run "$PY" bench/pg_queue.py --runs 3 --lease 200
for _ in 1 2 3; do run "$PY" bench/dedupe.py; done
run "$PY" bench/ingest_memory.py
