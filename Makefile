# One entry point for the chores. `make setup` once, then `make check` (what CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: setup check fmt lint typecheck protos test bench

setup:  ## create the virtual environment and install corral with its dev tools
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'

check: lint typecheck test  ## everything CI checks

fmt:  ## format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint:  ## formatting and lint, without changing anything
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck:  ## mypy --strict on our packages
	$(BIN)/mypy

protos:  ## regenerate corral/v1 from proto/
	$(BIN)/python scripts/gen_protos.py

test:  ## the test suite (a run that collects no test fails)
	$(BIN)/python -m pytest

bench:  ## benchmarks against floors measured in the same run
	$(BIN)/python -m bench
