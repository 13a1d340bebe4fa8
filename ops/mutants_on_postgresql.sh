#!/usr/bin/env bash
# Judge named mutants on PostgreSQL (README, Mutation testing). `make mutation` runs on
# SQLite, where FOR UPDATE, advisory locks and the PostgreSQL-only tests (races,
# statement budgets, storage order) do nothing; this runs those mutants where they do.
#
# Each mutant's diff (`mutmut show`) is applied in a throwaway git worktree of HEAD,
# the given tests run there with -x against DATABASE_URL (a scratch database, kept
# between mutants with --reuse-db), and one verdict line per mutant is printed.
#
# usage: ops/mutants_on_postgresql.sh NAMES_FILE TEST_PATH...
set -euo pipefail

names_file=$1
shift
root=$(git rev-parse --show-toplevel)
database=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/practica_mutants}
tree=$(mktemp -d)
log=$(mktemp)
trap 'git -C "$root" worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
git -C "$root" worktree add --detach "$tree" HEAD >/dev/null 2>&1
ln -s "$root/.venv" "$tree/.venv"

# The tests must pass unmutated first (and the scratch database is made afresh), or
# every mutant would look killed.
if ! (cd "$tree" && DATABASE_URL=$database .venv/bin/pytest -x -q -p no:randomly \
    --create-db -m "not browser" "$@" >"$log" 2>&1); then
    echo "The tests fail without any mutant: see $log" >&2
    exit 1
fi

while read -r mutant; do
    [ -n "$mutant" ] || continue
    diff=$(cd "$root" && .venv/bin/mutmut show "$mutant" | tail -n +2) || diff=""
    file=$(printf '%s\n' "$diff" | awk '/^--- /{print $2; exit}')
    if [ -z "$file" ]; then
        echo "$mutant: no such mutant in mutants/ (run make mutation first)"
        continue
    fi
    if ! printf '%s\n' "$diff" | (cd "$tree" && patch -p0 -s --no-backup-if-mismatch) >/dev/null 2>&1; then
        echo "$mutant: not applied (HEAD differs from the mutated source)"
        git -C "$tree" checkout -q -- "$file"
        continue
    fi
    if (cd "$tree" && DATABASE_URL=$database .venv/bin/pytest -x -q -p no:randomly \
        --reuse-db -m "not browser" "$@" >"$log" 2>&1); then
        echo "$mutant: survived"
    else
        echo "$mutant: killed by $(grep -a -m1 -oE '^(FAILED|ERROR) [^ ]+' "$log" | cut -d' ' -f2)"
    fi
    git -C "$tree" checkout -q -- "$file"
done <"$names_file"
