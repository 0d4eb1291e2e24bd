# tickbus: `make test` and `make demo` are the two commands a newcomer needs.
# Each installs what is missing first, so both work on a fresh Debian machine.

SWIFT ?= swift
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN := .build/release/tickbus
# The binary the Python kdb tests run (make test builds it in debug).
TICKBUS_BIN ?= .build/debug/tickbus

.PHONY: all build release deps pydeps test test-swift test-python bench demo clean fuzz fuzz-build fuzz-smoke fuzz-replay

# Fuzzing (docs/fuzzing.md): one libFuzzer + AddressSanitizer build of tickbus-fuzz in its own
# directory serves every target.
FUZZ_SCRATCH := .build/fuzz
FUZZ_BIN := $(FUZZ_SCRATCH)/tickbus-fuzz
FUZZ_TARGETS ?= massive-ws rest-page control kdb-ipc bar-csv wire journal replay
# make fuzz: seconds per target; the corpus grown in $(FUZZ_SCRATCH)/corpus/TARGET is kept between runs.
FUZZ_SECONDS ?= 600
# make test's bounded run: seconds per target, from the committed seeds only.
FUZZ_SMOKE_SECONDS ?= 20
# A run slower than FUZZ_TIMEOUT s or above FUZZ_RSS_MB of memory is reported as a failure.
FUZZ_TIMEOUT ?= 10
FUZZ_RSS_MB ?= 2048
FUZZ_OPTIONS = -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=$(FUZZ_RSS_MB) -malloc_limit_mb=$(FUZZ_RSS_MB) -print_final_stats=1

all: build

## deps: libzmq, zlib and pkg-config from apt when pkg-config cannot find libzmq or zlib.
deps:
	@if ! pkg-config --exists libzmq zlib 2>/dev/null; then \
		echo "Installing libzmq3-dev, zlib1g-dev and pkg-config (apt-get)..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libzmq3-dev zlib1g-dev pkg-config; \
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

## test: every test suite: Swift, the Python client's pytest suite, the history files against
## pandas (Tests/pandas), kdb+ (pykx as the oracle), and deploy/'s units and example configuration.
test: deps pydeps
	$(PYTHON) wire/generate.py --check
	$(PYTHON) Tests/golden/make_vectors.py --check
	$(PYTHON) Tests/golden/make_journal.py --check
	$(PYTHON) Tests/fuzz/make_seeds.py --check
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest
	$(MAKE) --no-print-directory test-python
	TICKBUS_BIN=$(TICKBUS_BIN) $(PYTHON) -m pytest -q Tests/pandas
	PYKX_UNLICENSED=true TICKBUS_TEST_TIMEOUT_SCALE=3 TICKBUS_BIN=$(TICKBUS_BIN) $(PYTHON) -m pytest -q Tests/kdb
	TICKBUS_TEST_TIMEOUT_SCALE=3 TICKBUS_BIN=$(TICKBUS_BIN) $(PYTHON) -m pytest -q Tests/deploy
	$(MAKE) --no-print-directory fuzz-smoke

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

## fuzz-build: the libFuzzer + ASan build of tickbus-fuzz (debug, so bounds checks stay on), with
## swiftc from the parser modules' own files: Tests/fuzz/build.sh says why.
fuzz-build:
	Tests/fuzz/build.sh $(FUZZ_SCRATCH)

## fuzz-replay: every committed seed and fixed-crash reproducer through each target, once.
fuzz-replay: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		dirs="Tests/fuzz/corpus/$$t"; [ -d Tests/fuzz/regressions/$$t ] && dirs="$$dirs Tests/fuzz/regressions/$$t"; \
		$(FUZZ_BIN) $$t -runs=0 $(FUZZ_OPTIONS) $$dirs >$(FUZZ_SCRATCH)/replay-$$t.log 2>&1 \
			|| { cat $(FUZZ_SCRATCH)/replay-$$t.log; echo "fuzz-replay: $$t failed"; exit 1; }; \
		echo "fuzz-replay: $$t: $$(find $$dirs -type f ! -name 'README*' | wc -l) inputs ok"; \
	done

## fuzz-smoke (part of make test): the replay, then FUZZ_SMOKE_SECONDS of fuzzing per target
## from the committed seeds. A crash fails it and leaves the input in $(FUZZ_SCRATCH)/artifacts/TARGET/.
fuzz-smoke: fuzz-replay
	@$(MAKE) --no-print-directory fuzz-run FUZZ_RUN_SECONDS=$(FUZZ_SMOKE_SECONDS) FUZZ_WORK=$(FUZZ_SCRATCH)/smoke FUZZ_FRESH=1

## fuzz: FUZZ_SECONDS (default 600) per target, growing $(FUZZ_SCRATCH)/corpus/TARGET;
## make fuzz FUZZ_TARGETS=wire FUZZ_SECONDS=3600 for one target.
fuzz: fuzz-replay
	@$(MAKE) --no-print-directory fuzz-run FUZZ_RUN_SECONDS=$(FUZZ_SECONDS) FUZZ_WORK=$(FUZZ_SCRATCH)/corpus

fuzz-run:
	@failed=""; for t in $(FUZZ_TARGETS); do \
		work=$(FUZZ_WORK)/$$t; artifacts=$(FUZZ_SCRATCH)/artifacts/$$t; \
		[ -n "$(FUZZ_FRESH)" ] && rm -rf $$work; mkdir -p $$work $$artifacts; \
		log=$(FUZZ_SCRATCH)/fuzz-$$t.log; \
		echo "fuzz: $$t for $(FUZZ_RUN_SECONDS) s (log $$log)"; \
		if $(FUZZ_BIN) $$t $$work Tests/fuzz/corpus/$$t -max_total_time=$(FUZZ_RUN_SECONDS) $(FUZZ_OPTIONS) \
			-artifact_prefix=$$artifacts/ >$$log 2>&1; then \
			grep -E '^stat::number_of_executed_units|^Done' $$log | tr '\n' ' '; echo; \
		else \
			grep -m1 -E 'Swift runtime failure|Fatal error|ERROR: (AddressSanitizer|libFuzzer)' $$log; \
			grep -m3 -E ' at Sources/' $$log; \
			echo "fuzz: $$t FAILED: reproduce with $(FUZZ_BIN) $$t $$(grep -o 'Test unit written to .*' $$log | sed 's/Test unit written to //')"; \
			failed="$$failed $$t"; \
		fi; \
	done; \
	[ -z "$$failed" ] || { echo "fuzz: failed:$$failed"; exit 1; }

clean:
	rm -rf .build
