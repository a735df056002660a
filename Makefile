# The two commands of the quickstart: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check

.PHONY: demo test bench lint clean

$(VENV)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.core
	$(PIP) install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.core
	$(PY) examples/two_layer_network.py

test: $(VENV)/.test
	EMBER_REQUIRE_TORCH=1 $(PY) -m pytest -q

bench: $(VENV)/.test
	$(PY) benchmarks/overhead.py

lint: $(VENV)/.test
	$(PIP) install --quiet ruff
	$(PY) -m ruff check ember tests examples benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
