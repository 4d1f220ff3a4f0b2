# One entry point for the chores. `make setup` once, then `make check` (what CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: setup postgres check fmt lint typecheck protos test bench

setup: postgres  ## create the virtual environment and install corral with its dev tools
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# mypy does not see through the editable install's import hook: a path file shows it the
	@# nango stubs (typings/ holds only a link to nango-stubs), so authors' mypy checks work.
	$(BIN)/python -c "import pathlib, site; (pathlib.Path(site.getsitepackages()[0]) / 'corral-typings.pth').write_text(str(pathlib.Path('typings').resolve()) + '\n')"

# The tests start a real PostgreSQL server of their own (tests/support/postgres.py); they need its
# binaries. Debian's package is installed when neither PATH nor /usr/lib/postgresql has initdb;
# when present this step costs nothing.
postgres:  ## install PostgreSQL's server binaries (Debian's package) when missing
	@if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; \
	then :; else \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; \
	fi

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

bench:  ## every path against its floor measured in the same run (BENCH_ARGS="--quick", ...)
	$(BIN)/python -m bench $(BENCH_ARGS)
