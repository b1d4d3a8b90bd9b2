# The two commands of the README: `make demo` and `make test` (`make test-fast`: unit tests only).
# Both create .venv on first use and install the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast docs bench bench-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cosim run --force -o out/default.h5

test: $(STAMP)
	$(BIN)/python -m pytest

# Everything not marked `slow` (no scenario runs, sweeps, notebooks or CLI subprocesses; tests/conftest.py).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# The docs site into site/ (warnings are errors); `mkdocs serve` previews it live.
docs: $(STAMP)
	$(BIN)/python -m cosim.docgen docs
	$(BIN)/python -m mkdocs build --strict

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

bench-check: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --check

clean:
	rm -rf out site .pytest_cache
