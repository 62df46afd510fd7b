# Each target sets up what it needs: a .venv with the package and the extras it uses.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The oldest NumPy that pyproject.toml allows, with the test extras at releases that support it
# (NumPy 1.24 has wheels for Python 3.8-3.11). `make test` runs the suite against it too.
OLDEST      := .venv-oldest
PY_OLDEST   := $(OLDEST)/bin/python
OLDEST_PINS := 'numpy==1.24.*' 'scipy==1.10.*' 'matplotlib==3.7.*'
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

$(PY_OLDEST):
	$(PYTHON) -m venv $(OLDEST)
	$(PY_OLDEST) -m pip install --quiet --upgrade pip

$(OLDEST)/.test: pyproject.toml Makefile | $(PY_OLDEST)
	$(PY_OLDEST) -m pip install --quiet -e '.[test]' $(OLDEST_PINS)
	touch $@

$(VENV)/.demo: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[plot]'
	touch $@

$(VENV)/.bench: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

demo: $(VENV)/.demo
	$(VENV)/bin/chainrule demo

test: $(VENV)/.test $(OLDEST)/.test
	@$(PY) -c 'import numpy; print("== the suite with NumPy", numpy.__version__)'
	$(PY) -m pytest -q
	@$(PY_OLDEST) -c 'import numpy; print("== the suite with NumPy", numpy.__version__, "(the oldest supported)")'
	$(PY_OLDEST) -m pytest -q -p no:cacheprovider

test-all: $(VENV)/.test
	$(PY) -m pytest -q -m "" --hypothesis-profile=long

bench: $(VENV)/.bench
	$(PY) -m benchmarks --memory

bench-quick: $(VENV)/.bench
	$(PY) -m benchmarks --quick

clean:
	rm -rf $(VENV) $(OLDEST) build src/*.egg-info .pytest_cache .hypothesis
