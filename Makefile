# The two commands in README: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
IRKIT := $(VENV)/bin/irkit
STAMP := $(VENV)/.irkit-installed
DEMO_OUT ?= demo-out

.PHONY: install demo test test-fast lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

demo: install
	$(IRKIT) predict --weights auto
	$(IRKIT) package --out $(DEMO_OUT) --weights auto
	$(IRKIT) inspect $(DEMO_OUT)/model.tar.gz
	$(IRKIT) inspect $(DEMO_OUT)/payload.tar.gz
	$(IRKIT) recommend examples/demo-local.yaml --model $(DEMO_OUT)/model.tar.gz \
		--payload $(DEMO_OUT)/payload.tar.gz --out $(DEMO_OUT)/demo-local.json

# the notebooks' jobs go to a throwaway store, not the user's history
test: install
	rm -rf build/test-home
	$(PY) tests/prepare_notebooks.py notebooks build/nbval
	IRKIT_HOME=$(CURDIR)/build/test-home $(PY) -m pytest tests build/nbval --nbval-lax -p no:cacheprovider \
		|| { rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; else exit $$rc; fi; }

# unit tests only: no model servers, Locust, kernels or browsers (tests/conftest.py marks them slow)
test-fast: install
	$(PY) -m pytest tests -m "not slow and not browser" -p no:cacheprovider -q

lint: install
	$(VENV)/bin/ruff check irkit tests benchmarks
	$(VENV)/bin/mypy

# all benchmarks, or some: make bench BENCH="peer repeatability" (BENCH_ARGS="--record" appends to RESULTS.md)
bench: install
	$(PY) benchmarks/run.py $(BENCH) $(BENCH_ARGS)

clean:
	rm -rf build $(DEMO_OUT) .pytest_cache
