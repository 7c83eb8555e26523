# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test lint bench clean

$(VENV)/.stamp-base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-base pyproject.toml
	$(PIP) install -e '.[test]'
	touch $@

# Convert the shipped example model, run it with the NumPy runtime, compare with Keras's recorded output.
demo: $(VENV)/.stamp-base
	$(VENV)/bin/rnnconvert examples/charlstm/model.keras build/charlstm-bundle --force
	$(PY) examples/demo.py build/charlstm-bundle

test: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check rnnconvert tests examples benchmarks
	$(PY) -m pytest -q -p no:cacheprovider

lint: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check rnnconvert tests examples benchmarks
	$(VENV)/bin/ruff format --check rnnconvert

# The bench extra is optional: without onnxruntime/tf2onnx their column reads n/a.
$(VENV)/.stamp-bench: $(VENV)/.stamp-test pyproject.toml
	$(PIP) install -e '.[bench]' || echo "make bench: the bench extra did not install; onnxruntime will read n/a"
	touch $@

bench: $(VENV)/.stamp-bench
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) build .pytest_cache
