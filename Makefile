# motcua: `make run` starts the whole suite on its embedded defaults; `make test` sets up and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
KAFKA_PORT ?= 9092
TEST_KAFKA_PORT ?= 29092
TEST_PG_PORT ?= 55432
# pytest-xdist workers for `make test`/`make test-unit` (measured on the 2-core machine; TEST_WORKERS=0 runs in-process)
TEST_WORKERS ?= 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install system-deps run migrate demo test test-unit lint contract bench clean help

help:
	@echo "make run    - set up and start the five services, the local broker and the demo data"
	@echo "make test   - set up, start a throwaway PostgreSQL and broker, run the whole test suite"
	@echo "make lint   - ruff, mypy and the import contracts"
	@echo "make bench  - benchmarks (ratios against a baseline measured in the same run)"

install: $(STAMP)
$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Debian packages beyond Python (Pango and fonts for PDFs; for tests also poppler-utils and headless Chromium).
system-deps:
	scripts/system_deps.sh $(if $(filter run,$(MAKECMDGOALS)),run,test)

migrate: install
	$(PY) scripts/migrate.py all

demo: migrate
	$(PY) scripts/load_demo.py

# The broker runs inside the Procfile unless KAFKA_BOOTSTRAP_SERVERS points at another one; Ctrl-C stops all.
run: system-deps demo
	@mkdir -p var
	@$(PY) scripts/procfile.py > var/Procfile
	@$(PY) scripts/procfile.py --urls
	$(VENV)/bin/honcho start -f var/Procfile -d .

test: install system-deps
	@set -euo pipefail; \
	trap 'scripts/broker.sh stop $(TEST_KAFKA_PORT); scripts/postgres.sh stop $(TEST_PG_PORT)' EXIT; \
	scripts/postgres.sh start $(TEST_PG_PORT); \
	scripts/broker.sh start $(TEST_KAFKA_PORT); \
	MOTCUA_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:$(TEST_PG_PORT)/postgres \
	MOTCUA_TEST_KAFKA=127.0.0.1:$(TEST_KAFKA_PORT) \
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup -m "not integration" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy libs services scripts bench
	$(VENV)/bin/lint-imports

contract: install
	$(PY) scripts/generate_contract.py

# Benchmarks (bench/run.py, docs/performance.md): a durable throwaway PostgreSQL and the local broker on their own
# ports, wrk for the HTTP load (installed from Debian when missing and run as root). ~10 min at the default sizes.
BENCH_PG_PORT ?= 56000
BENCH_KAFKA_PORT ?= 56001
bench: install
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } \
	  || { echo "wrk is missing: sudo apt-get install -y wrk" >&2; exit 1; }
	@set -euo pipefail; \
	trap 'scripts/broker.sh stop $(BENCH_KAFKA_PORT); scripts/postgres.sh stop $(BENCH_PG_PORT)' EXIT; \
	MOTCUA_PG_DURABLE=1 scripts/postgres.sh start $(BENCH_PG_PORT); \
	scripts/broker.sh start $(BENCH_KAFKA_PORT); \
	$(PY) bench/run.py --pg-url postgresql+asyncpg://postgres@127.0.0.1:$(BENCH_PG_PORT)/postgres \
	  --kafka 127.0.0.1:$(BENCH_KAFKA_PORT) --ports 56010-56039 $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
