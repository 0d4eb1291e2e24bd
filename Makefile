# tickbus: `make test` and `make demo` are the two commands a newcomer needs.
# Each installs what is missing first, so both work on a fresh Debian machine.

SWIFT ?= swift
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN := .build/release/tickbus

.PHONY: all build release deps test test-swift bench demo clean

all: build

## deps: libzmq and pkg-config from apt when pkg-config cannot find libzmq.
deps:
	@if ! pkg-config --exists libzmq 2>/dev/null; then \
		echo "Installing libzmq3-dev and pkg-config (apt-get)..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libzmq3-dev pkg-config; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product tickbus

## test: every test suite (Swift now; the Python client's pytest suite joins with it).
test: deps
	$(PYTHON) Tests/golden/make_vectors.py --check
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest

## bench: release build, then every benchmark as a table.
bench: release
	$(RELEASE_BIN) bench

## demo: planned with `tickbus ingest` and `tickbus sim` (issue: ingest).
demo: release
	@echo "make demo arrives with tickbus sim + ingest. For now, watch a bus with:"
	@echo "  $(RELEASE_BIN) tap --endpoint tcp://127.0.0.1:7700"
	@echo "and measure it with: make bench"

clean:
	rm -rf .build
