# Each target sets up what it needs: a .venv with the package and the extras it uses.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: demo test test-all bench bench-quick clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.demo: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[plot]'
	touch $@

$(VENV)/.bench: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

demo: $(VENV)/.demo
	$(VENV)/bin/chainrule demo

test: $(VENV)/.test
	$(PY) -m pytest -q

test-all: $(VENV)/.test
	$(PY) -m pytest -q -m "" --hypothesis-profile=long

bench: $(VENV)/.bench
	$(PY) -m benchmarks --memory

bench-quick: $(VENV)/.bench
	$(PY) -m benchmarks --quick

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis
