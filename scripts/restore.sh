#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh into the database and file store that the
# environment names (an empty database; a new bucket or the old one), then reads and
# decrypts every file the restored database names (`gatehouse files verify`), which
# fails if the database, the objects and the keys do not belong together.
#
#   DATABASE_URL=postgres://gatehouse@db/gatehouse_restored scripts/restore.sh DIR
set -euo pipefail
dir=${1:?usage: scripts/restore.sh DIR}
bin=${GATEHOUSE_BIN:-gatehouse}
case "${DATABASE_URL:-}" in
  postgres://* | postgresql://*)
    pg_restore --no-owner --exit-on-error --dbname="$DATABASE_URL" "$dir/database.dump"
    ;;
  *)
    db=${DATABASE_URL#sqlite://}
    db=${db:-${GATEHOUSE_DATA_DIR:-./data}/gatehouse.db}
    if [ -e "$db" ]; then
      echo "$db exists: restore into a new path" >&2
      exit 1
    fi
    mkdir -p "$(dirname "$db")"
    cp "$dir/gatehouse.db" "$db"
    ;;
esac
"$bin" files restore --from "$dir/files"
"$bin" files verify
echo "restored from $dir and verified"
