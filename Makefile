# Agent Desk — two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test system-deps test-deps venv lint typecheck pytest bench clean

run: system-deps $(STAMP)
	$(BIN)/agent-desk db upgrade
	$(BIN)/agent-desk db seed-demo --customers 500 --sessions 2000 --if-empty
	$(BIN)/agent-desk

test: test-deps $(STAMP) lint typecheck pytest

system-deps:
	@bash scripts/system-deps.sh

# The same, and what only the tests need (a private sound server for the recording tests).
test-deps:
	@bash scripts/system-deps.sh --test

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# The tests open windows offscreen; AGENT_DESK_TEST_PG_URL (set by .ci/run) adds PostgreSQL.
pytest: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -p no:cacheprovider

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/agent-desk bench startup
	$(BIN)/agent-desk bench seed

clean:
	rm -rf $(VENV) build *.egg-info .ruff_cache .mypy_cache .hypothesis
