# Everyday actions. `make demo` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION ?= 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: help deps infra-up infra-down test test-unit demo lint typecheck fmt bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# `python3 -m uv` works right after `pip install uv`, even where the new `uv` executable is not
# on PATH yet (pyenv shims need a rehash).
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)

$(VENV)/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install -q "uv==$(UV_VERSION)"
	$(UV) sync --frozen --quiet
	@touch $@

deps: $(VENV)/.synced ## install Python dependencies from the lock file (into .venv)

infra-up: deps ## start Kafka (KRaft) and PostgreSQL without Docker (idempotent)
	infra/up.sh

infra-down: ## stop Kafka and PostgreSQL
	infra/down.sh

test: infra-up ## run the whole suite: unit and integration tests (real Kafka and PostgreSQL)
	infra/browser.sh
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: deps ## unit tests only (no services)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

demo: infra-up ## sample events through Kafka into the service, and what it did with them
	export SEQUENCE_QBO_SCHEMA_REGISTRY_URL=$${SEQUENCE_QBO_SCHEMA_REGISTRY_URL:-$$(infra/registry/url.sh)}; \
	$(PY) -m sequence_qbo db migrate && \
	$(PY) -m sequence_qbo topics create && \
	$(PY) -m sequence_qbo demo

lint: deps ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: deps ## mypy on the packages
	$(VENV)/bin/mypy

fmt: deps ## format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: infra-up ## run every benchmark as `python -m bench.NAME` (prints figures; chaos and month_end take ~10 min each)
	for b in bench/[a-z]*.py; do $(PY) -m bench.$$(basename $$b .py) || exit 1; done

clean: infra-down ## stop services and remove local data
	rm -rf .infra
