#!/usr/bin/env bash
# The nightly standing run at scale (issue 24, docs/quality.md), on both backends:
#   bench/standing.sh [contributors] [records] [binary]
# Seeds a fresh database per backend with `gatehouse seed` (records carry quality
# signals; the seed's project type is gated by standing in the domain `bench`), then
# times `gatehouse jobs standing` with a 30-day window (the default: the records of the
# last month) and a 365-day window (every contributor's records), each twice (first run
# inserts the standings, the second updates them), beside the raw GROUP BY the run's
# first statement contains, timed by the database's own client in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
M=${2:-1000000}
BIN=${3:-target/release/gatehouse}
PG=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
WORK=$(mktemp -d)
export GATEHOUSE_JWT_SECRET=$(head -c 64 /dev/urandom | base64 -w0)
export GATEHOUSE_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export GATEHOUSE_DATA_DIR=$WORK/data GATEHOUSE_BENCH_PASSWORD=bench-password-1234 RUST_LOG=warn
RAW="SELECT w.contributor_id, p.standing_domain, COUNT(w.consensus_agreement_percent), SUM(w.consensus_agreement_percent), \
COUNT(w.gold_score_percent), SUM(w.gold_score_percent), SUM(CASE WHEN w.status <> 'pending' THEN 1 ELSE 0 END), \
SUM(CASE WHEN w.status = 'rejected' THEN 1 ELSE 0 END) FROM work_records w JOIN project_types p ON p.id = w.project_type_id \
WHERE p.standing_domain IS NOT NULL AND w.completed_at >= CURRENT_TIMESTAMP - INTERVAL 'DAYS days' \
GROUP BY w.contributor_id, p.standing_domain"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
for backend in sqlite postgres; do
    if [ $backend = sqlite ]; then
        export DATABASE_URL="sqlite://$WORK/standing.db"
    else
        db=standing_bench_$$
        psql -q "$PG" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
        export DATABASE_URL="${PG%/*}/$db"
    fi
    rm -rf "$WORK/data" "$WORK/standing.db"*
    "$BIN" migrate >/dev/null
    t0=$(date +%s.%N)
    "$BIN" seed --contributors "$N" --records "$M" >/dev/null 2>&1
    echo "$backend: seeded $N contributors, $M records in $(echo "$(date +%s.%N) - $t0" | bc) s"
    for days in 30 365; do
        sql=${RAW//DAYS/$days}
        if [ $backend = sqlite ]; then
            sql=$(echo "$sql" | sed "s/CURRENT_TIMESTAMP - INTERVAL '$days days'/datetime('now', '-$days days')/")
            t0=$(date +%s.%N); rows=$(sqlite3 "$WORK/standing.db" "SELECT COUNT(*) FROM ($sql)"); t1=$(date +%s.%N)
        else
            t0=$(date +%s.%N); rows=$(psql -qtA "$DATABASE_URL" -c "SELECT COUNT(*) FROM ($sql) x"); t1=$(date +%s.%N)
        fi
        echo "$backend: window $days days: raw GROUP BY ($rows contributor-domains) $(echo "$t1 - $t0" | bc) s"
        for run in first second; do
            out=$(GATEHOUSE_STANDING_WINDOW_DAYS=$days "$BIN" jobs standing)
            echo "$backend: window $days days, $run run: $(echo "$out" | tr -d '\n ' )"
        done
        # Back to no standings, so the next window's first run inserts again.
        if [ $backend = sqlite ]; then
            sqlite3 "$WORK/standing.db" "DELETE FROM standing_moves; DELETE FROM domain_standings;"
        else
            psql -q "$DATABASE_URL" -c "DELETE FROM standing_moves" -c "DELETE FROM domain_standings"
        fi
    done
    [ $backend = postgres ] && psql -q "$PG" -c "DROP DATABASE $db"
done
rm -rf "$WORK"
