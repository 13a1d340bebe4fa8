#!/bin/sh
# `make run`: the development server and one task worker beside it, in one command.
# Ctrl-C (or any exit of either process) stops both.
set -u
BIN=${BIN:-.venv/bin}

# The worker logs two lines per task (the demo data alone queues a few hundred), which
# would bury the server's log: it writes to var/worker.log instead.
mkdir -p var
"$BIN/python" manage.py db_worker --queue-name='*' --interval 1 >var/worker.log 2>&1 &
WORKER=$!
"$BIN/python" manage.py runserver 127.0.0.1:8000 &
SERVER=$!

stop() {
    trap - INT TERM EXIT
    kill "$SERVER" "$WORKER" 2>/dev/null
    wait "$SERVER" "$WORKER" 2>/dev/null
}
trap 'stop; exit 130' INT TERM
trap stop EXIT

# Return as soon as either ends (a crash of one must not leave the other running).
while kill -0 "$SERVER" 2>/dev/null && kill -0 "$WORKER" 2>/dev/null; do
    sleep 1
done
