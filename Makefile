# make demo — create .venv, install keyz, run the offline demo
# make test — create .venv, install keyz with test tools, run lint and the test suite
# make lint — ruff and mypy only
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint format schema clean bench ui-screenshot

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "keyz needs Python 3.11 or newer (set PYTHON=python3.12, say)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/keyz demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy

# pytest exits 5 when it collects no test: make treats that as the failure it is.
# -n auto: one worker per core (pytest-xdist); each builds its own throwaway gpg key.
test: lint
	$(BIN)/python -m pytest -n auto

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts

# Regenerate the checked-in JSON Schema of every sidecar version (v1 must never change).
schema: $(VENV)/.installed
	$(BIN)/python -c 'from keyz.sidecar import VERSIONS, json_schema_text as t; [open(f"schema/sidecar-v{v}.json", "w").write(t(v)) for v in VERSIONS]'

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Benchmarks print figures; they assert nothing about time (see benchmarks/README.md).
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/sync_bench.py --entries 100 --latency 0.1
	$(BIN)/python benchmarks/sync_bench.py --entries 1000 --latency 0.1 --baseline-sample 50 --runs 1
	$(BIN)/python benchmarks/history_bench.py

# Regenerate docs/ui.svg, the README's screenshot of keyz ui on the demo's store.
ui-screenshot: $(VENV)/.installed
	$(BIN)/python scripts/ui_screenshot.py
