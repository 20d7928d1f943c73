# Two commands on a fresh machine: `make dev` starts the platform, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export FLIGHT_LAKE ?= .lake

.PHONY: dev demo test test-fast lint bench install clean dagster-home

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The local instance (dev/dagster.yaml: run monitoring, one run per hour partition), unless DAGSTER_HOME has its own.
dagster-home:
	@mkdir -p "$(DAGSTER_HOME)"
	@test -f "$(DAGSTER_HOME)/dagster.yaml" || cp dev/dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

dev: $(STAMP) dagster-home
	@echo "Dagster UI: http://127.0.0.1:3000  (lake: $(FLIGHT_LAKE); stop with Ctrl-C)"
	@# -W: the one warning `dagster dev` prints about `dg dev` (flight_assets/tools/demo.py QUIET_DAGSTER_DEV says why)
	$(BIN)/python -W 'ignore:Function `dev_command` is superseded' -m dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

# The edit loop: ruff and every test not marked slow (the rule: flight_assets_tests/conftest.py SLOW_PROGRAMS),
# on one pytest-xdist worker per core (FAST_WORKERS=0: one process).
FAST_WORKERS ?= auto
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -m "not slow" -n $(FAST_WORKERS)

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/poll_run.py
	$(BIN)/python bench/hourly.py
	$(BIN)/python bench/backfill.py
	$(BIN)/python bench/live.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The offline demo: fake-opensky --simulate, 3 hours of history landed and built, then Dagster against it.
demo: $(STAMP) dagster-home
	$(BIN)/flight-assets demo --serve --hours 3

# The ingestion Lambda package (deploy/build_lambda.py): only what the handler imports and its pinned boto3/botocore, for python3.13 arm64.
.PHONY: lambda-zip
lambda-zip: $(STAMP)
	$(BIN)/python deploy/build_lambda.py
