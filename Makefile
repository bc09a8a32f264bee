# weir — the two commands a new user needs are `make run` and `make test`; everything else is
# for developers. CMake does the building; this file only sequences the steps.
.PHONY: all deps build run test asan unit e2e e2e-release crash-test format lint fuzz-smoke tsan bench clean

BUILD_RELEASE := build/release
BUILD_ASAN := build/asan
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:4243
DATA_DIR ?= ./data
N ?= 1000

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD_RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD_RELEASE) -j $(JOBS)

run: build
	$(BUILD_RELEASE)/weir serve --listen $(LISTEN) --data-dir $(DATA_DIR)

asan: deps
	@cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DWEIR_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_ASAN) -j $(JOBS)

# The unit tests run against a private PostgreSQL server (scripts/pg-test.sh) so that the
# control-plane tests cover both backends; WEIR_REQUIRE_PG makes them fail, not skip, without it.
unit: asan
	cd $(BUILD_ASAN) && WEIR_REQUIRE_PG=1 bash $(CURDIR)/scripts/pg-test.sh \
		ctest --output-on-failure -j $(JOBS)

e2e: asan
	@bash tests/e2e/run.sh $(BUILD_ASAN)/weir

# The binary `make run` starts is the Release build (optimised, no sanitizers); the suites above
# run the sanitizer build. So the official SDKs' suites also run against the Release binary, with
# the loop committing (--commit-mode loop, what one CPU gets; the ASan suites use the thread).
e2e-release: deps
	@cmake -S . -B $(BUILD_RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD_RELEASE) -j $(JOBS) --target weir
	@WEIR_COMMIT_MODE=loop bash tests/e2e/run.sh $(BUILD_RELEASE)/weir s2-sdk.test.mjs \
	    s2-http.test.mjs trigger-sdk.test.mjs

test: unit e2e e2e-release

crash-test: asan
	bash tests/crash/crash_test.sh $(N) $(BUILD_ASAN)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# clang-format over every C file; clang-tidy (.clang-tidy: the checks and why) over src/, in
# parallel, failing on any finding.
lint: asan
	@bash scripts/deps.sh lint
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
	run-clang-tidy -p $(BUILD_ASAN) -j $(JOBS) -quiet '^$(CURDIR)/src/' >$(BUILD_ASAN)/clang-tidy.log 2>&1 || \
		{ sed 's/\x1b\[[0-9;]*m//g' $(BUILD_ASAN)/clang-tidy.log | grep -E -A12 '(warning|error):'; exit 1; }
	@echo "lint: clean"

# Every libFuzzer driver of tests/fuzz/ (docs/fuzzing.md) for FUZZ_SECONDS each, from a scratch
# copy of its corpus; any crash, leak, sanitizer report or failed check fails the target.
BUILD_FUZZ := build/fuzz
FUZZ_SECONDS ?= 20
fuzz-smoke: deps
	@bash scripts/deps.sh lint
	@CC=clang cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DWEIR_LIBFUZZER=ON -DWEIR_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_FUZZ) -j $(JOBS) --target $$(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$$//')
	@bash tests/fuzz/smoke.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

# ThreadSanitizer: the unit tests whose code shares data between threads (the store's commit
# thread and worker pool, the control-plane writer, the loop-thread test servers).
BUILD_TSAN := build/tsan
TSAN_TESTS ?= store_|meta_|http_|realtime_test_pins|realtime_test_queued|realtime_test_ids|util_test_sha256
tsan: deps
	@cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=Debug -DWEIR_TSAN=ON >/dev/null
	@cmake --build $(BUILD_TSAN) -j $(JOBS)
	cd $(BUILD_TSAN) && TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/tests/unit/store/tsan.supp" \
		ctest --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'

bench: deps
	@bash scripts/deps.sh bench
	@cmake -S . -B $(BUILD_RELEASE) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD_RELEASE) -j $(JOBS)
	bash bench/http.sh
	bash bench/h2-ping.sh
	bash bench/store-append.sh
	bash bench/append-http.sh
	bash bench/append-s2s.sh
	bash bench/fanout.sh
	bash bench/auth-cost.sh
	bash bench/realtime.sh
	bash bench/realtime-routes.sh
	bash bench/memory-bounds.sh
	bash bench/metrics-overhead.sh
	bash bench/remote-backend.sh
	bash bench/cli-append.sh
	bash bench/control-plane.sh

clean:
	rm -rf build
