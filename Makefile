# `make run`: set up and run a real plan and verify; `make test`: set up and run every check
# (ruff, ruff format --check, mypy --strict, pytest); `make bench`: time rmpplan with
# bench/ratios.py and print its performance ratios against their targets (docs/performance.md);
# `make visual`: draw the machine pictures with headless Chromium (bench/visual.py).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# The installed metadata comes from these: pyproject.toml and the version in rmpplan/__init__.py.
METADATA := pyproject.toml rmpplan/__init__.py
# setuptools announces every editable install of a flat layout with an "Editable installation"
# warning (a notice about same-named folders shadowing the package); nothing to fix here, so
# only that message is silenced and any other build warning still shows.
PIP_INSTALL := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet

.PHONY: run test lint typecheck pytest bench visual clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(METADATA) | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

# The dask extra too, so that the tests of `verify --executor dask` run (tests/test_dask.py).
$(TEST_STAMP): $(METADATA) | $(BIN)/python
	$(PIP_INSTALL) -e '.[test,dask]'
	touch $@ $(STAMP)

run: $(STAMP)
	$(BIN)/rmpplan plan topologies/epyc-9965-2s.yaml --leader 17
	$(BIN)/rmpplan verify topologies

lint: $(TEST_STAMP)
	$(BIN)/ruff check rmpplan tests bench
	$(BIN)/ruff format --check rmpplan tests bench

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

# -n auto: one pytest-xdist worker per core; every test is safe to run beside another.
pytest: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -n auto

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/ratios.py

# Needs Chromium (Debian: apt-get install chromium); writes docs/img/*.png.
visual: $(STAMP)
	$(BIN)/python bench/visual.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build *.egg-info
