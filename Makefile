# Two commands: `make run` (install into .venv, start the app on the sample) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export DASH_TEST_CHROMEPATH ?= $(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null || command -v google-chrome 2>/dev/null)

.PHONY: run test test-fast test-stress bench bench-small screenshot clean

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt $(VENV)/.runtime
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) app.py

# The whole suite; the load and crash tests run as their own step so their figures print (-s).
test: $(VENV)/.dev
	$(PY) -m pytest --headless -m "not load and not crash" $(PYTEST_ARGS)
	$(PY) -m pytest -m "load or crash" -s $(PYTEST_ARGS)

test-stress: $(VENV)/.dev
	$(PY) -m pytest -m "load or crash" -s $(PYTEST_ARGS)

test-fast: $(VENV)/.dev
	$(PY) -m pytest -m "not browser and not load and not crash" $(PYTEST_ARGS)

bench: $(VENV)/.dev
	$(PY) -m bench

bench-small: $(VENV)/.dev
	$(PY) -m bench --sizes 20000 --requests 30 --out bench/out/RESULTS-small.md

screenshot: $(VENV)/.dev
	$(PY) scripts/screenshot.py

clean:
	rm -rf $(VENV) data/*.duckdb data/*.duckdb.wal data/tmp data/uploads
