# The two commands of the README. Each sets itself up: a local virtual environment
# (.venv) with the project's requirements, updated whenever a requirements file changes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
PYTEST_ARGS ?= -n 2

.PHONY: run test lint demo bench clean

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "mhin-eval needs Python 3.11 or newer; found " + sys.version.split()[0] + ". Install python3.11 (apt-get install python3.11 python3.11-venv) and run: make PYTHON=python3.11 ...")'
	@$(PYTHON) -m venv $(VENV) || { echo "Could not create a virtual environment. On Debian/Ubuntu run: apt-get install python3-venv"; exit 1; }
	@touch $@

$(VENV)/.run-installed: $(VENV)/.python-ok requirements.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.test-installed: $(VENV)/.run-installed requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	@touch $@

## run: serve the dashboard on http://localhost:$(PORT) with the built-in demo data
run: $(VENV)/.run-installed
	$(PY) -m mhin_eval seed
	$(PY) -m mhin_eval.ui.serve --server.port $(PORT) --server.address localhost

## test: the full test suite (unit, reference, app, browser)
test: $(VENV)/.test-installed
	@scripts/ensure-system-packages.sh
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .

demo: $(VENV)/.run-installed
	$(PY) -m mhin_eval demo

bench: $(VENV)/.test-installed
	$(PY) bench/fits.py
	$(PY) bench/pages.py
	$(PY) bench/deck.py

clean:
	rm -rf $(VENV) data/store test-artifacts .pytest_cache
