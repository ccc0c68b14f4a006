#!/usr/bin/env bash
# Backs up Gatehouse into one directory: the database (pg_dump's custom format, or
# SQLite's online .backup) and then the file store's objects, sealed as stored
# (`gatehouse files backup`, incremental). Run it with the servers' environment
# (DATABASE_URL, GATEHOUSE_FILE_STORE, GATEHOUSE_S3_*, keys); the keys themselves are NOT
# in the backup: keep them in your secret store (docs/deploy.md).
#
#   scripts/backup.sh /var/backups/gatehouse/2026-11-30
set -euo pipefail
dir=${1:?usage: scripts/backup.sh DIR}
bin=${GATEHOUSE_BIN:-gatehouse}
mkdir -p "$dir"
case "${DATABASE_URL:-}" in
  postgres://* | postgresql://*)
    pg_dump --format=custom --no-owner --file="$dir/database.dump" "$DATABASE_URL"
    ;;
  *)
    db=${DATABASE_URL#sqlite://}
    db=${db:-${GATEHOUSE_DATA_DIR:-./data}/gatehouse.db}
    sqlite3 "$db" ".backup '$dir/gatehouse.db'"
    ;;
esac
# After the dump, so every object the dump names is copied.
"$bin" files backup --to "$dir/files"
echo "backup written to $dir"
