# Everything a fresh machine with Python 3.11 and make needs; see README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
DEV_ENV := DEBUG=1

.PHONY: install browser demo-reset run test lint migrate seed bench bench-instructions loadtest loadtest-rush fuzz mutation mutation-pg clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput

seed: migrate
	$(DEV_ENV) $(BIN)/python manage.py seed_demo

# The demo's dates are relative to the day it was seeded; this rebuilds it for today.
demo-reset: install
	rm -f db.sqlite3
	$(MAKE) seed

run: seed
	@echo ""
	@echo "Practica is served at http://127.0.0.1:8000/  (admin: /admin/, API: /api/v1/, docs: /api/docs/)"
	@echo "One task worker runs beside it (its log: $(CURDIR)/var/worker.log); emails are written as files to $(CURDIR)/var/mail/"
	$(DEV_ENV) BIN=$(BIN) ops/dev_server.sh

# The browser tests drive Debian's Chromium (Playwright cannot download its own here).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# One test process per core (pytest-xdist); PYTEST_ARGS="-n 0" runs them in one.
PYTEST_ARGS ?= -n auto
test: install browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(DEV_ENV) $(BIN)/python manage.py makemigrations --check --dry-run

# The list and booking benchmark (README, Performance): PostgreSQL from DATABASE_URL, SQLite otherwise.
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Python instructions per list request under valgrind: a figure that the machine's load does not move.
bench-instructions: install
	$(BIN)/python bench/instructions.py $(BENCH_ARGS)

# The locust load test (loadtest/README.md): PostgreSQL from DATABASE_URL, SQLite otherwise.
loadtest: install
	$(BIN)/python loadtest/run.py $(LOADTEST_ARGS)

# The registration rush (loadtest/README.md): 1,000 students booking at once; bounded.
loadtest-rush: install
	$(BIN)/python loadtest/run.py --scenario rush $(LOADTEST_ARGS)

# schemathesis against gunicorn on loopback, two users per role (README, Fuzzing). Not in CI:
# minutes long. PostgreSQL from DATABASE_URL, SQLite otherwise; FUZZ_ARGS bounds it.
fuzz: install
	$(BIN)/python ops/fuzz.py $(FUZZ_ARGS)

# Mutation testing of the modules where the rules live (README, Mutation testing): slow,
# not in CI, niced. MUTATION_ARGS narrows it to one module's mutants, e.g.
# MUTATION_ARGS='"bookings.integrity*"'; MUTATION_ARGS= (empty) runs every module in setup.cfg.
MUTATION_ARGS ?= "config.pagination*" "bookings.integrity*" "scheduling.querysets*" \
	"scheduling.conflicts*" "scheduling.recurrence*" "scheduling.access*"
mutation: install
	nice -n 19 $(BIN)/mutmut run --max-children 2 $(MUTATION_ARGS)
	$(BIN)/mutmut results

# The mutants SQLite cannot judge (locks, PostgreSQL-only tests), judged on PostgreSQL:
# MUTANTS is a file of mutant names (from `mutmut results`), MUTANT_TESTS the tests
# each runs against, DATABASE_URL a scratch database (README, Mutation testing).
mutation-pg: install
	nice -n 19 ops/mutants_on_postgresql.sh $(MUTANTS) $(MUTANT_TESTS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles mutants
