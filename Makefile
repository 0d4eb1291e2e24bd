# tickbus: `make test` and `make demo` are the two commands a newcomer needs.
# Each installs what is missing first, so both work on a fresh Debian machine.

SWIFT ?= swift
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN := .build/release/tickbus
# The binary the Python kdb tests run (make test builds it in debug).
TICKBUS_BIN ?= .build/debug/tickbus

.PHONY: all build release deps pydeps test test-swift bench demo clean

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

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product tickbus

## test: every test suite (Swift now; the Python client's pytest suite joins with it).
test: deps pydeps
	$(PYTHON) Tests/golden/make_vectors.py --check
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest
	PYKX_UNLICENSED=true TICKBUS_BIN=$(TICKBUS_BIN) $(PYTHON) -m pytest -q Tests/kdb

## bench: release build, then every benchmark as a table.
bench: release
	$(RELEASE_BIN) bench

## demo: simulator + ingest + a bar printer, one line per bar per second (Ctrl-C stops it).
demo: deps
	$(SWIFT) build --product tickbus
	.build/debug/tickbus demo $(DEMO_ARGS)

clean:
	rm -rf .build
