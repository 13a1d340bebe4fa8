#!/usr/bin/env bash
# Restore a dump made by ops/backup.sh into an EMPTY PostgreSQL database.
#
#   createdb practica_restored
#   DATABASE_URL=postgres://user@host:5432/practica_restored ops/restore.sh DUMP_FILE
#
# Refuses a database that already holds tables, so that it can never overwrite live
# data. The restore is one transaction: it lands whole or not at all. Objects end up
# owned by the user of DATABASE_URL (--no-owner), which need not be the one that
# owned them when the dump was taken.
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL must point at the empty PostgreSQL database to restore into}"
dump="${1:?usage: ops/restore.sh DUMP_FILE}"
case "$DATABASE_URL" in
    postgres://* | postgresql://*) ;;
    *) echo "restore.sh: DATABASE_URL is not a PostgreSQL URL; nothing done." >&2; exit 2 ;;
esac
test -r "$dump" || { echo "restore.sh: cannot read $dump" >&2; exit 2; }

tables=$(psql "$DATABASE_URL" --no-psqlrc --tuples-only --no-align --command \
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg_toast%'")
if [ "$tables" != "0" ]; then
    echo "restore.sh: the target database is not empty ($tables relations); refusing to restore." >&2
    exit 3
fi

pg_restore --exit-on-error --single-transaction --no-owner --no-privileges \
    --dbname="$DATABASE_URL" "$dump"
echo "Restored $dump. Next: manage.py migrate --check and manage.py check_integrity against it."
