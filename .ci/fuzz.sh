#!/usr/bin/env bash
# Fuzzes the served OpenAPI document with schemathesis (all checks) on both backends,
# signed in as an applicant, a reviewer, a finance user and an admin in turn, within a
# time budget (GATEHOUSE_FUZZ_SECONDS per role and backend, 35 by default: about five
# minutes in all). Any finding fails the run. Configuration: .ci/schemathesis.toml.
# The generator's seed is fixed (GATEHOUSE_FUZZ_SEED, 20261130 by default) so that a run
# is repeatable and CI fails only on what a change did; GATEHOUSE_FUZZ_SEED=random explores
# with a new seed each run (printed by schemathesis), as we do before each round ends.
# Needs the debug binary (cargo build) and PostgreSQL at 127.0.0.1:5432 (user postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${GATEHOUSE_BIN:-target/debug/gatehouse}"
seconds="${GATEHOUSE_FUZZ_SECONDS:-35}"
seed="${GATEHOUSE_FUZZ_SEED:-20261130}"
seed_args=()
if [ "$seed" != random ]; then seed_args=(--seed "$seed"); fi
pg_admin="${GATEHOUSE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
work="$(mktemp -d)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "${pg_db:-}" ]; then psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fuzz_backend() {
  local backend="$1" dir="$work/$1" port url
  mkdir -p "$dir"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  url="http://127.0.0.1:$port"
  local -a env=(GATEHOUSE_DATA_DIR="$dir/data" GATEHOUSE_BIND="127.0.0.1:$port" RUST_LOG=warn
    GATEHOUSE_ADMIN_PASSWORD="fuzzing admin password 1")
  if [ "$backend" = postgres ]; then
    pg_db="gh_fuzz_$$"
    psql -q "$pg_admin" -c "CREATE DATABASE $pg_db" >/dev/null
    env+=(DATABASE_URL="${pg_admin%/*}/$pg_db"
      GATEHOUSE_JWT_SECRET="$(head -c 48 /dev/urandom | base64 -w0)"
      GATEHOUSE_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64 -w0)")
  fi
  env "${env[@]}" "$bin" migrate >/dev/null
  env "${env[@]}" "$bin" admin create --email admin@fuzz.test >/dev/null
  env "${env[@]}" "$bin" serve >"$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fs "$url/healthz" >/dev/null && break; sleep 0.1; done
  local tokens
  tokens="$(python3 .ci/fuzz_accounts.py "$url" "$dir/data" admin@fuzz.test "fuzzing admin password 1")"
  local failed=0
  for role in applicant reviewer finance admin; do
    echo "== schemathesis: $backend, $role"
    token="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$tokens" "$role")"
    st --config-file .ci/schemathesis.toml run "$url/api/v1/openapi.json" --url "$url" \
      -H "Authorization: Bearer $token" --max-time "$seconds" "${seed_args[@]}" || failed=1
  done
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
  if [ "$failed" = 1 ]; then
    echo "schemathesis found problems on $backend; server log: $dir/server.log" >&2
    tail -n 50 "$dir/server.log" >&2
    return 1
  fi
}

status=0
fuzz_backend sqlite || status=1
fuzz_backend postgres || status=1
exit $status
