# Agora: `make help` lists the targets. Only Python 3.11+ is needed; everything else is installed
# into .venv by the first target that needs it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help run test test-fast test-sqlite test-postgres lint fmt typecheck check migrate seed serve openapi bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Agora needs Python 3.11 or newer (set PYTHON=...)")'
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP) ## Install, migrate the SQLite database, seed demo data and serve on :8000
	$(BIN)/agora migrate
	$(BIN)/agora seed
	$(BIN)/agora serve

serve: $(STAMP) ## Serve without migrating or seeding
	$(BIN)/agora serve

migrate: $(STAMP) ## Apply database migrations
	$(BIN)/agora migrate

seed: $(STAMP) ## Load demo data (idempotent)
	$(BIN)/agora seed

openapi: $(STAMP) ## Write the OpenAPI document to openapi.json
	$(BIN)/agora openapi --output openapi.json

test: $(STAMP) ## Run the tests on SQLite, then on PostgreSQL (+ Redis, RabbitMQ) if AGORA_TEST_DATABASE_URL is set
	$(BIN)/pytest
	@if [ -n "$$AGORA_TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$AGORA_TEST_DATABASE_URL) =="; \
		AGORA_TEST_BACKEND=postgres $(BIN)/pytest; \
	fi

test-fast: $(STAMP) ## Run the tests on SQLite without the slow ones (fault tests, real servers, the fuzzer)
	$(BIN)/pytest -m 'not slow'

test-sqlite: $(STAMP) ## Run the tests on SQLite only
	$(BIN)/pytest

test-postgres: $(STAMP) ## Run the tests on PostgreSQL only (needs AGORA_TEST_DATABASE_URL)
	AGORA_TEST_BACKEND=postgres $(BIN)/pytest

lint: $(STAMP) ## ruff (lint and format check), codespell and the import contracts
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/ruff format --check src tests migrations bench
	$(BIN)/codespell src tests bench docs README.md CHANGELOG.md
	$(BIN)/lint-imports

fmt: $(STAMP) ## Format and fix what ruff can fix
	$(BIN)/ruff format src tests migrations bench
	$(BIN)/ruff check --fix src tests migrations bench

typecheck: $(STAMP) ## mypy (strict) on src
	$(BIN)/mypy

bench: $(STAMP) ## Benchmark against a bare ASGI baseline (ARGS="--backend postgres --large")
	$(BIN)/python bench/run.py $(ARGS)

check: lint typecheck test ## Everything CI runs

clean: ## Remove the virtualenv, caches and local data
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var bench/results
