# Two commands do everything on a fresh clone:
#   make run    install, prepare dbt, write sample data if needed, run the daily job
#   make test   install, prepare dbt, run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install prepare run test lint dev bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The dbt manifest is prepared explicitly (dbt parse), never only by `dagster dev`.
prepare: install
	$(BIN)/leadscore prepare

run: prepare
	$(BIN)/leadscore demo-data --if-empty
	$(BIN)/leadscore run

test: prepare
	$(BIN)/python -m pytest -n 2 --dist loadfile -q --durations=10

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p data && LEADSCORE_WAREHOUSE_PATH=$(CURDIR)/data/lint.duckdb $(BIN)/sqlfluff lint dbt_project/models

# The Dagster UI: asset graph, checks, run history (same DAGSTER_HOME as `leadscore`).
dev: prepare
	mkdir -p data/dagster_home
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/data/dagster_home} $(BIN)/dagster dev -m orchestration.definitions

clean:
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache
