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
	$(VENV)/bin/rnnconvert examples/charlstm/model.keras build/charlstm-bundle --force \
		--metadata examples/charlstm/metadata.json
	$(PY) examples/demo.py build/charlstm-bundle

# `make lint`: ruff (complexity cap C901 at 15 included), ruff format on the whole tree, mypy on rnnconvert/.
lint: $(VENV)/.stamp-test
	$(RUFF) check .
	$(RUFF) format --check .
	$(VENV)/bin/mypy

# `make test` (what .ci/run runs): lint (ruff with the complexity cap, ruff format, mypy), the
# whole Python suite, then the JavaScript runtime's tests (node --test and a headless browser).
# The JS package entry (js/dist) is built first: a Python test runs the web demo, which imports it.
# pytest runs on PYTEST_WORKERS processes (pytest-xdist); tests/conftest.py's scheduler keeps each
# zoo case's tests in one worker, and the workers of a run share the zoo they build (keras_zoo.py).
PYTEST_WORKERS ?= 2
test: $(VENV)/.stamp-test js/dist/rnnconvert.js
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadgroup
	$(MAKE) --no-print-directory test-js

# The tests that need no TensorFlow (tests/conftest.py marks the others `keras`), on PYTEST_WORKERS processes: ~45 s.
test-fast: $(VENV)/.stamp-test
	$(PY) -m pytest -q -p no:cacheprovider -m "not keras" -n $(PYTEST_WORKERS) --dist loadgroup

# The bench extra is optional: without onnxruntime/tf2onnx their column reads n/a.
$(VENV)/.stamp-bench: $(VENV)/.stamp-test pyproject.toml
	$(PIP) install -e '.[bench]' || echo "make bench: the bench extra did not install; onnxruntime will read n/a"
	touch $@

bench: $(VENV)/.stamp-bench
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) build .pytest_cache .test-cache

# --- JavaScript runtime (js/) ------------------------------------------------------------
# test-js: npm ci in js/ (dev dependencies: esbuild, playwright-core, wabt), node --test over every
# golden bundle and the error paths, then a real browser: headless Debian Chromium loads the example
# char-LSTM through the web demo page and must continue seeds as the NumPy runtime does.
# js/dist/rnnconvert.js, the package entry (the sources bundled by esbuild), is built here, not
# committed; js-dist also re-assembles the embedded WebAssembly after kernels.wat changes (a
# test fails while it is stale).
CHROMIUM ?= /usr/bin/chromium
WEB_PORT ?= 8000
.PHONY: test-js web-demo js-chromium js-dist

js/node_modules/.package-lock.json: js/package-lock.json js/package.json
	cd js && npm ci --no-audit --no-fund
	touch $@

build/charlstm-bundle/model.json: examples/charlstm/model.keras examples/charlstm/metadata.json $(VENV)/.stamp-base
	$(VENV)/bin/rnnconvert examples/charlstm/model.keras build/charlstm-bundle --force \
		--metadata examples/charlstm/metadata.json

# Idempotent: installs Debian's chromium only when it is missing (needs root; CI runs as root).
js-chromium:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "test-js: $(CHROMIUM) is missing and we are not root: the browser test will be skipped"; fi

test-js: $(VENV)/.stamp-test js/node_modules/.package-lock.json js/dist/rnnconvert.js build/charlstm-bundle/model.json js-chromium
	node --test js/test/*.test.js
	$(PY) js/test/browser/numpy_reference.py build/charlstm-bundle > build/charlstm-greedy.json
	CHROMIUM=$(CHROMIUM) node js/test/browser/browser_check.mjs build/charlstm-bundle build/charlstm-greedy.json

JS_SOURCES := js/index.js $(wildcard js/src/*.js js/src/ops/*.js) js/tools/build_dist.mjs
js/dist/rnnconvert.js: js/node_modules/.package-lock.json $(JS_SOURCES)
	node js/tools/build_dist.mjs

js-dist: js/node_modules/.package-lock.json
	node js/tools/build_wasm.mjs
	node js/tools/build_dist.mjs

# Serve the demo page: type a seed, the model continues it in the browser.
web-demo: build/charlstm-bundle/model.json js/dist/rnnconvert.js
	node js/web/serve.mjs build/charlstm-bundle --port $(WEB_PORT)
