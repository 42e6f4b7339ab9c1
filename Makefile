# Two commands do everything on a fresh clone:
#   make run    install, prepare dbt, write sample data if needed, run the daily job
#   make test   install, prepare dbt, run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install prepare run test lint dev bench clean spark-check

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

# Optional, not part of `make test`: build the same dbt project on Spark
# (dbt-spark, session mode, local PySpark; needs Java 17) and compare every
# published mart with DuckDB's, after a daily run, a backfill of an older
# date and the daily run again. About 10 minutes; ~400 MB of packages.
SPARK_VENV := .venv-spark
SPARK_DATA := $(CURDIR)/data/spark-check
SPARK_ENV := LEADSCORE_LANDING_DIR=$(SPARK_DATA)/landing \
	LEADSCORE_WAREHOUSE_PATH=$(SPARK_DATA)/warehouse.duckdb \
	LEADSCORE_PUBLISH_PATH=$(SPARK_DATA)/published.duckdb \
	LEADSCORE_AUDIT_DIR=$(SPARK_DATA)/audit DAGSTER_HOME=$(SPARK_DATA)/dagster_home

$(SPARK_VENV)/.installed: pyproject.toml $(VENV)/.installed
	$(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/pip install --quiet --upgrade pip
	$(SPARK_VENV)/bin/pip install --quiet 'dbt-core>=1.11,<1.12' 'dbt-spark[session]>=1.11,<1.12' \
		'pyspark>=3.5,<3.6' "duckdb==$$($(BIN)/python -c 'import duckdb; print(duckdb.__version__)')" pyyaml
	touch $@

spark-check: prepare $(SPARK_VENV)/.installed
	rm -rf $(SPARK_DATA) && mkdir -p $(SPARK_DATA)/dagster_home
	$(SPARK_ENV) $(BIN)/leadscore demo-data --end-date 2026-03-01
	$(SPARK_ENV) $(BIN)/leadscore run --date 2026-03-01
	$(SPARK_ENV) $(BIN)/leadscore run --date 2026-02-15
	$(SPARK_ENV) $(BIN)/leadscore run --date 2026-03-01
	$(SPARK_ENV) $(BIN)/leadscore run --date 2026-02-20
	$(SPARK_VENV)/bin/python portability/spark_check.py --warehouse $(SPARK_DATA)/warehouse.duckdb \
		--dates 2026-03-01,2026-02-15,2026-03-01,2026-02-20 --workdir $(SPARK_DATA)/spark

clean:
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache
