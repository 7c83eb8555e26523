# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUFF := $(VENV)/bin/ruff
PIP := $(PY) -m pip --disable-pip-version-check -q
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test test-fast lint bench clean

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

# `make lint`: ruff (complexity cap C901 at 15 included), ruff format on the whole tree, mypy on rnnconvert/.
lint: $(VENV)/.stamp-test
	$(RUFF) check .
	$(RUFF) format --check .
	$(VENV)/bin/mypy

# `make test` (what .ci/run runs): lint, then the whole suite. Until rnnconvert/ is clean of them,
# the C901 cap and mypy are left to `make lint` (TEST_LINT_IGNORE); then `test` depends on `lint`.
TEST_LINT_IGNORE := --extend-ignore C901
test: $(VENV)/.stamp-test
	$(RUFF) check $(TEST_LINT_IGNORE) .
	$(RUFF) format --check .
	$(PY) -m pytest -q -p no:cacheprovider

# The tests that need no TensorFlow (tests/conftest.py marks the others `keras`): well under a minute.
test-fast: $(VENV)/.stamp-test
	$(PY) -m pytest -q -p no:cacheprovider -m "not keras"

# The bench extra is optional: without onnxruntime/tf2onnx their column reads n/a.
$(VENV)/.stamp-bench: $(VENV)/.stamp-test pyproject.toml
	$(PIP) install -e '.[bench]' || echo "make bench: the bench extra did not install; onnxruntime will read n/a"
	touch $@

bench: $(VENV)/.stamp-bench
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) build .pytest_cache .test-cache
