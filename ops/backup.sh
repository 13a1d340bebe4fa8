#!/usr/bin/env bash
# Back up Practica's PostgreSQL database in pg_dump's custom format.
#
#   DATABASE_URL=postgres://user@host:5432/practica ops/backup.sh [DUMP_FILE]
#
# Prints the dump's path. The dump is written beside its final name and renamed only
# once pg_dump has finished and pg_restore can read its table of contents, so a
# crash never leaves a truncated file under the final name. The dump holds password
# hashes and API tokens: it is readable by its owner only (mode 600), whatever the
# caller's umask.
set -euo pipefail
umask 077

: "${DATABASE_URL:?DATABASE_URL must point at the PostgreSQL database to back up}"
case "$DATABASE_URL" in
    postgres://* | postgresql://*) ;;
    *) echo "backup.sh: DATABASE_URL is not a PostgreSQL URL; nothing done." >&2; exit 2 ;;
esac

dump="${1:-practica-$(date -u +%Y%m%dT%H%M%SZ).dump}"
partial="$dump.partial"
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --compress=6 --file="$partial" --dbname="$DATABASE_URL"
# A partial file left by an earlier run keeps its old mode when pg_dump rewrites it.
chmod 600 "$partial"
pg_restore --list "$partial" >/dev/null
mv "$partial" "$dump"
echo "$dump"
