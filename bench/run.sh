#!/usr/bin/env bash
# Gatehouse benchmark suite (SPEC §14). Not part of `cargo test`.
#   bench/run.sh                                   # 10,000 contributors / 100,000 records, both backends
#   bench/run.sh --contributors 100000 --records 1000000   # the SPEC scale
#   bench/run.sh --backends sqlite                 # one backend
#   bench/run.sh --export-items 0                  # without the export-scale step
# Installs what it needs when missing (Debian/Ubuntu: sqlite3, psql and pgbench, wrk),
# builds the release binary, then runs bench/bench.py (Python 3 standard library;
# PostgreSQL at 127.0.0.1:5432, user postgres, for that backend). Prints a Markdown
# block for BENCHMARKS.md and keeps JSON + Markdown in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v sqlite3 >/dev/null || missing+=(sqlite3)
{ command -v psql >/dev/null && command -v pgbench >/dev/null; } || missing+=(postgresql-client)
command -v wrk >/dev/null || missing+=(wrk)
if ((${#missing[@]})); then
    echo "bench: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}"
fi
command -v python3 >/dev/null || { echo "bench: python3 is required" >&2; exit 2; }
cargo build --release --quiet
exec python3 bench/bench.py "$@"
