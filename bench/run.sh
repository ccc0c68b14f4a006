#!/usr/bin/env bash
# Gatehouse benchmark suite (SPEC §14). Not part of `cargo test`.
#   bench/run.sh                                   # 10,000 contributors / 100,000 records, both backends
#   bench/run.sh --contributors 100000 --records 1000000   # the SPEC scale
#   bench/run.sh --backends sqlite                 # one backend
# Builds the release binary, then runs bench/bench.py (Python 3 standard library; needs
# sqlite3 and psql, and PostgreSQL at 127.0.0.1:5432, user postgres, for that backend).
# Prints a Markdown block for BENCHMARKS.md and keeps JSON + Markdown in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in python3 sqlite3 psql; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 2; }
done
cargo build --release --quiet
exec python3 bench/bench.py "$@"
