# Two commands: `make run` (install into .venv, start the app on the sample) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export DASH_TEST_CHROMEPATH ?= $(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null || command -v google-chrome 2>/dev/null)

.PHONY: run test test-fast test-stress test-spark bench bench-small bench-spark screenshot clean
.PHONY: bench-score

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt $(VENV)/.runtime
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# The Spark engine is an optional extra (pyspark + Java 17): `make test` installs and tests it,
# `make run` never needs it.
$(VENV)/.spark: requirements-spark.txt $(VENV)/.dev
	$(PY) -m pip install -q -r requirements-spark.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) app.py

# Two pytest workers (pytest-xdist): the Spark tests, the browser tests and each other module each
# run whole on one worker (tests/conftest.py worker_scope); PARALLEL= runs everything in one process.
PARALLEL ?= -n 2 --dist loadscope

# The whole suite; the load and crash tests run as their own step so their figures print (-s).
test: $(VENV)/.dev $(VENV)/.spark
	$(PY) -m pytest --headless $(PARALLEL) -m "not load and not crash" $(PYTEST_ARGS)
	$(PY) -m pytest -m "load or crash" -s $(PYTEST_ARGS)

test-stress: $(VENV)/.dev
	$(PY) -m pytest -m "load or crash" -s $(PYTEST_ARGS)

test-fast: $(VENV)/.dev
	$(PY) -m pytest $(PARALLEL) -m "not browser and not load and not crash and not spark" $(PYTEST_ARGS)

test-spark: $(VENV)/.spark
	$(PY) -m pytest -m spark $(PYTEST_ARGS)

# How every published figure is reproduced (each report's first lines repeat the command and settings):
#   bench/RESULTS.md  make bench                      (BENCH_SIZES=1000000,10000000 BENCH_ARGS=--skip-baseline;
#                                                      add the original pandas approach: BENCH_ARGS=)
#   bench/SCORING.md  make bench-score ROWS=1000000
#   bench/SPARK.md    make bench-spark ROWS=1000000   (and ROWS=10000000; needs Java 17)
#   grid seek         $(PY) -m bench.grid_seek_bench
BENCH_SIZES ?= 1000000,10000000
BENCH_ARGS ?= --skip-baseline
bench: $(VENV)/.dev
	$(PY) -m bench --sizes $(BENCH_SIZES) $(BENCH_ARGS)

bench-spark: $(VENV)/.spark
	$(PY) -m core.spark.bench --rows $(or $(ROWS),100000) --out bench/out/spark.json

# Scoring N customers (default 1,000,000) from CSV and Parquet, per stage and end to end:
# bench/SCORING.md. CPU_LOCK=/tmp/cpu.lock holds that lock only while timing.
bench-score: $(VENV)/.dev
	$(PY) -m bench.score_bench --rows $(or $(ROWS),1000000) $(if $(CPU_LOCK),--cpu-lock $(CPU_LOCK))

bench-small: $(VENV)/.dev
	$(PY) -m bench --sizes 20000 --requests 30 --out bench/out/RESULTS-small.md

screenshot: $(VENV)/.dev
	$(PY) scripts/screenshot.py

clean:
	rm -rf $(VENV) data/*.duckdb data/*.duckdb.wal data/tmp data/uploads
