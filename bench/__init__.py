"""The benchmarks (scripts, run as `python bench/<name>.py`); a package so the tests can share `_procs`."""
