# tickbus: `make test` and `make demo` are the two commands a newcomer needs.
# Each installs what is missing first, so both work on a fresh Debian machine.

SWIFT ?= swift
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN := .build/release/tickbus
# The binary the Python kdb tests run (make test builds it in debug).
TICKBUS_BIN ?= .build/debug/tickbus

.PHONY: all build release deps pydeps test test-swift test-python bench demo clean

all: build

## deps: libzmq and pkg-config from apt when pkg-config cannot find libzmq.
deps:
	@if ! pkg-config --exists libzmq 2>/dev/null; then \
		echo "Installing libzmq3-dev and pkg-config (apt-get)..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libzmq3-dev pkg-config; \
	fi

## pydeps: the Python packages of Tests/requirements.txt, when missing.
pydeps:
	@if ! $(PYTHON) -c "import pandas, pykx, zmq, pytest" 2>/dev/null; then \
		echo "Installing the Python test packages (pip)..."; \
		$(PYTHON) -m pip install -q -r Tests/requirements.txt 2>/dev/null \
			|| $(PYTHON) -m pip install -q --break-system-packages -r Tests/requirements.txt; \
	fi
	@if ! $(PYTHON) -c "import tickbus, zmq, numpy, pandas, pytest" 2>/dev/null; then \
		echo "Installing the Python client and its test packages (pip)..."; \
		$(PYTHON) -m pip install -q "./clients/python[test]" 2>/dev/null \
			|| $(PYTHON) -m pip install -q --break-system-packages "./clients/python[test]"; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product tickbus

## test: every test suite: Swift, the Python client's pytest suite, kdb+ (pykx as the oracle),
## and deploy/'s units and example configuration run together.
test: deps pydeps
	$(PYTHON) Tests/golden/make_vectors.py --check
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest
	$(MAKE) --no-print-directory test-python
	PYKX_UNLICENSED=true TICKBUS_TEST_TIMEOUT_SCALE=3 TICKBUS_BIN=$(TICKBUS_BIN) $(PYTHON) -m pytest -q Tests/kdb
	TICKBUS_TEST_TIMEOUT_SCALE=3 TICKBUS_BIN=$(TICKBUS_BIN) $(PYTHON) -m pytest -q Tests/deploy

## test-python: the Python client's tests (clients/python, from the source tree) against the
## debug build's tickbus sim / ingest / tap.
test-python: pydeps
	cd clients/python && TICKBUS_BIN="$(CURDIR)/.build/debug/tickbus" $(PYTHON) -m pytest -q

## bench: release build, then every benchmark as a table (and bench python, with pyzmq).
bench: release
	$(RELEASE_BIN) bench
	@if $(PYTHON) -c "import zmq, numpy" 2>/dev/null; then $(PYTHON) benchmarks/python_bench.py; \
		else echo "bench python: skipped (needs pyzmq and numpy: make pydeps)"; fi

## demo: simulator + ingest + bars + archive, upstream and local bars printed each second (Ctrl-C stops it).
demo: deps
	$(SWIFT) build --product tickbus
	.build/debug/tickbus demo $(DEMO_ARGS)

clean:
	rm -rf .build
