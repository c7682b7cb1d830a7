# tenantwatch: every target sets itself up (virtualenv + dependencies) on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test check bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## demo: emulated tenant under attack -> pipeline -> live findings (Ctrl-C to stop)
demo: $(STAMP)
	$(BIN)/tenantwatch demo --reset --data-dir tenantwatch-demo

## test: the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest

## check: lint, format check, strict typing
check: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/tenantwatch

## bench: throughput and latency benchmarks (benchmarks/results.json, docs/benchmarks.md)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) tenantwatch-demo .pytest_cache .mypy_cache .ruff_cache
