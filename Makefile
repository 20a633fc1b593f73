# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export CERCLE_DEMO_PASSWORD ?= cercle-demo

.PHONY: run test lint typecheck pytest screenshots bench bench-kpis bench-web clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/cercle migrate
	$(BIN)/cercle demo --if-empty
	@echo ""
	@echo "  Cercle is running at http://127.0.0.1:8000"
	@echo "  Demo admin: username 'admin', password '$(CERCLE_DEMO_PASSWORD)'"
	@echo ""
	$(BIN)/cercle serve --host 127.0.0.1 --port 8000

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app tests bench migrations tools

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy app

pytest: $(VENV)/.installed-dev
	@$(BIN)/python tests/check_browser.py
	$(BIN)/pytest -n 2 -m "not faults" $(PYTEST_ARGS)
	$(BIN)/pytest -p no:xdist -m faults $(PYTEST_ARGS)

test: lint typecheck pytest

screenshots: $(VENV)/.installed-dev
	CERCLE_SCREENSHOTS=1 $(BIN)/pytest -n 0 tests/browser -k screenshot

# Benchmarks print figures; they are not tests. Full size by default (100k members, 1M posts).
bench: bench-kpis bench-web

bench-kpis: $(VENV)/.installed-dev
	$(BIN)/python bench/kpis.py $(BENCH_ARGS)

bench-web: $(VENV)/.installed-dev
	$(BIN)/python bench/web.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
