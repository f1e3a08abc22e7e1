# Single entry point: the README's commands, CI (.ci/run) and the developers' loop all use these.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup system-deps lint typecheck unit notebooks browser test quickstart lab bench bench-peers clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

setup: $(VENV)/.installed system-deps  ## create the virtualenv and install everything the tests need

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

system-deps:  ## Graphviz's dot and Chromium for the browser tests (Debian/Ubuntu, as root)
	@command -v dot >/dev/null && command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      graphviz chromium fonts-dejavu-core >/dev/null; \
	  else echo "Install graphviz and chromium with your package manager"; fi; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/python .ci/check_no_sleep.py tests

typecheck: setup
	$(BIN)/mypy

unit: setup  ## the unit and integration tests, in parallel and random order, with coverage
	$(BIN)/pytest -n 2 -m "not browser" --cov --cov-report=term --cov-report=xml
	$(BIN)/python .ci/check_coverage.py coverage.xml

notebooks: setup  ## the example notebooks, executed by a fresh kernel and compared by nbval
	$(BIN)/pytest -p no:randomly -p no:cacheprovider --nbval-lax notebooks/ -o addopts="" -W default

browser: setup  ## end-to-end: real JupyterLab + headless Chromium
	$(BIN)/pytest -p no:randomly -m browser tests/browser

test: lint typecheck unit notebooks browser  ## everything CI runs

quickstart: setup  ## the main job, headless: execute every example notebook and write HTML copies
	$(BIN)/python .ci/run_notebooks.py notebooks --html artifacts/html

lab: setup  ## the main job, interactive: JupyterLab on the quickstart notebook
	$(BIN)/jupyter lab notebooks/01_quickstart.ipynb

BENCH_VENV ?= .venv-bench

bench-peers: $(BENCH_VENV)/.installed  ## a separate virtualenv with Dagster and Apache Hamilton

$(BENCH_VENV)/.installed: benchmarks/requirements-peers.txt | $(VENV)/.installed
	$(PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q -U pip
	$(BIN)/pip freeze | grep -iE '^(pandas|pyarrow|numpy)==' > $(BENCH_VENV)/constraints.txt
	$(BENCH_VENV)/bin/pip install -q -r benchmarks/requirements-peers.txt -c $(BENCH_VENV)/constraints.txt
	touch $@

bench: setup bench-peers  ## the benchmark suite (not part of the tests)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .flowstone artifacts coverage.xml .coverage* .pytest_cache .mypy_cache .ruff_cache
