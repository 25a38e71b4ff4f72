# Pitstop: `make demo` runs the main job, `make test` runs every check.
# Both set everything up on a fresh machine (python3 is all they need) and
# can be run again at any time.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8

export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export DO_NOT_TRACK := 1
# Spark (the `spark` dbt target) binds to loopback only
export SPARK_LOCAL_IP := 127.0.0.1
export MLFLOW_DISABLE_TELEMETRY := true
export DBT_PROFILES_DIR := $(ROOT)
export UV_COMPILE_BYTECODE := 1
export UV_PROJECT_ENVIRONMENT := $(VENV)
export PATH := $(BIN):$(PATH)

UV := $(shell command -v uv 2>/dev/null || echo $(ROOT)/.tools/bin/uv)

.PHONY: help setup demo test lint dbt-ci integration pytest dbt-spark integration-spark bench-feast bench-pit bench-history bench-online clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(ROOT)/.tools/bin/uv:
	python3 -m venv $(ROOT)/.tools
	$(ROOT)/.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: python/pyproject.toml python/uv.lock | $(UV)
	$(UV) sync --project python --frozen --extra dev --quiet
	touch $@

profiles.yml: profiles.example.yml
	cp profiles.example.yml profiles.yml

setup: $(VENV)/.installed profiles.yml  ## create .venv with the locked dependencies

demo: setup  ## build the demo warehouse, registry, online store (SQLite) and a lookup
	$(BIN)/dbt build
	# dbt docs with the feature registry in it (README, "The registry in dbt docs")
	$(BIN)/pitstop docs --static
	$(BIN)/pitstop features list
	$(BIN)/pitstop materialize
	# the demo data ends 2025-07-01: look up as of then, or TTLs expire everything
	$(BIN)/pitstop get customer_id=42 merchant_id=7 --service fraud_training_set \
		--as-of 2025-07-01
	$(BIN)/pitstop models demo  # MLflow: train, register, promote, predict by key, drift (README, "Models on MLflow")

lint: setup  ## ruff, mypy, sqlfluff
	$(BIN)/ruff check python tests bench
	$(BIN)/ruff format --check python tests bench
	$(BIN)/mypy python/pitstop
	$(BIN)/sqlfluff lint models snapshots analyses

dbt-ci: setup  ## dbt build on the ci target (fresh database)
	rm -f target/ci.duckdb
	$(BIN)/dbt build --target ci --target-path target/ci

integration: setup  ## the macro integration-test project
	cd integration_tests && DBT_PROFILES_DIR=. $(BIN)/dbt deps --quiet
	cd integration_tests && rm -f target/integration_tests.duckdb && DBT_PROFILES_DIR=. $(BIN)/dbt build

pytest: setup  ## the Python test suite (tests/test_spark.py builds on Spark too)
	scripts/ensure-redis.sh
	scripts/ensure-java.sh
	$(BIN)/pytest

dbt-spark: setup  ## dbt build on the spark target (local[*]; PITSTOP_SPARK_MASTER for a cluster)
	scripts/ensure-java.sh
	$(BIN)/dbt build --target spark --target-path target/spark/dbt

integration-spark: setup  ## the macro integration-test project on Spark
	scripts/ensure-java.sh
	cd integration_tests && DBT_PROFILES_DIR=. $(BIN)/dbt deps --quiet
	cd integration_tests && rm -rf target/spark && DBT_PROFILES_DIR=. $(BIN)/dbt build \
		--target spark --target-path target/spark/dbt

test: lint dbt-ci integration pytest  ## every check: lint, dbt build (ci), integration tests, pytest

bench-feast:  ## Feast 0.67 in its own venv (bench/.feast-venv), for the comparisons
	bench/feast/setup.sh

bench-pit: setup bench-feast  ## point-in-time join: Pitstop vs DuckDB ASOF floor vs Feast (~25 min)
	$(BIN)/python bench/bench_pit.py --work /tmp/pitbench

bench-history: setup  ## scd2_from_events and window_aggregates vs hand-written DuckDB
	$(BIN)/python bench/bench_history.py

bench-online: setup bench-feast  ## online lookups and materialize vs raw sqlite3 vs Feast
	scripts/ensure-redis.sh
	$(BIN)/python bench/bench_online.py

clean:  ## remove build output (keeps .venv)
	rm -rf target integration_tests/target integration_tests/dbt_packages logs pitstop.duckdb
