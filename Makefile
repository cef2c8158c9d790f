# binfer: batch inference in C.
#   make            build ./binfer
#   make test       install missing Debian packages, build, run unit + end-to-end tests
#   make asan       the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make portable   the same tests built for any x86-64 (no AVX2 paths)
#   make fuzz       the libFuzzer targets (clang); fuzz-smoke runs each briefly
#   make bench      benchmarks against the tools a user would otherwise run
#   make demo       run the demo job in configs/ on shipped data

CC      ?= cc
OPT     ?= -O2 -g
ARCH    ?= -march=native
# OpenBLAS built on OpenMP: its threads are our OpenMP threads, so a GEMM
# inside a parallel region runs on one thread and nothing else spins.
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
BLAS_DIR ?= /usr/lib/$(MULTIARCH)/openblas-openmp
# -ffp-contract=off: scores must round as the libraries' own arithmetic does,
# so no multiply-add is fused unless the source asks for it (gcc's default in
# ISO C mode, but not clang's).
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(ARCH) -ffp-contract=off -Wall -Wextra -Wno-unused-parameter \
           -fopenmp -Iinclude -I/usr/include/$(MULTIARCH)/openblas-openmp
LDLIBS  += -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas -lzstd -lyaml -lutf8proc -lm -lpthread
BUILD   ?= build

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS  += -DBF_VERSION='"$(VERSION)"'

# A folder per stage or backend under src/: its code, its private headers,
# its unit tests (*_test.c) and its libFuzzer targets (*_fuzz.c).
LIB_SRC  := $(filter-out %_test.c %_fuzz.c,$(wildcard src/*/*.c))
TEST_SRC := $(wildcard src/*/*_test.c)
FUZZ_SRC := $(wildcard src/*/*_fuzz.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:src/%_test.c=$(BUILD)/test/%_test)
HEADERS  := $(wildcard include/*.h src/*/*.h)
# ar keeps one member per file name: two sources may not share a base name.
DUP_NAMES := $(sort $(foreach n,$(notdir $(LIB_SRC)),$(if $(filter-out 1,$(words $(filter %/$(n),$(LIB_SRC)))),$(n))))
ifneq ($(DUP_NAMES),)
$(error source files share a name (ar would keep one): $(DUP_NAMES))
endif

.PHONY: all deps test unit e2e asan portable fuzz fuzz-smoke bench demo clean

all: binfer

binfer: $(BUILD)/binfer
	cp $< $@.tmp && mv $@.tmp $@

$(BUILD)/binfer: $(BUILD)/cmd/binfer.o $(BUILD)/libbinfer.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libbinfer.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/test/%_test: src/%_test.c $(BUILD)/libbinfer.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbinfer.a -lcmocka $(LDLIBS)

deps:
	@scripts/install_deps.sh

# `make test` is what CI runs: it installs what is missing first.
test: deps
	@$(MAKE) --no-print-directory all tests-built
	@scripts/test/run_tests.sh $(BUILD)

tests-built: $(TESTS) $(BUILD)/inject_errors.so

# The failing-write shim for the disk-full end-to-end case (not sanitized:
# it is preloaded before everything else).
$(BUILD)/inject_errors.so: scripts/test/inject_errors.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -shared -fPIC -o $@ $< -ldl

unit: all tests-built
	@scripts/test/run_tests.sh $(BUILD) unit

e2e: all $(BUILD)/inject_errors.so
	@scripts/test/run_tests.sh $(BUILD) e2e

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" build-asan/binfer tests-built
	@ASAN_OPTIONS=detect_leaks=1 scripts/test/run_tests.sh build-asan

# The whole suite on a build for any x86-64 CPU (no AVX2): the portable
# fallbacks stay correct.
PORTABLE_ARCH ?= -march=x86-64-v2
portable: deps
	@$(MAKE) --no-print-directory BUILD=build-portable ARCH="$(PORTABLE_ARCH)" build-portable/binfer tests-built
	@scripts/test/run_tests.sh build-portable

# libFuzzer targets (src/*/*_fuzz.c), built with clang and sanitizers into
# build-fuzz/; `make fuzz-smoke` runs each for FUZZ_SECONDS on its corpus.
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SECONDS ?= 10
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -ffp-contract=off $(ARCH) \
		-Wall -Wno-unused-parameter -Iinclude -I/usr/include/$(MULTIARCH)/openblas-openmp \
		-DBF_VERSION='"$(VERSION)"' -fsanitize=address,undefined -fno-sanitize-recover=undefined
# the pipeline (OpenMP) is no fuzz target's business
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(filter-out src/pipeline/%,$(LIB_SRC)))
FUZZ_BINS    := $(FUZZ_SRC:src/%.c=$(FUZZ_BUILD)/%)

$(FUZZ_BUILD)/src/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/libfuzz.a: $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/%_fuzz: src/%_fuzz.c $(FUZZ_BUILD)/libfuzz.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libfuzz.a \
		-L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas -lzstd -lyaml -lutf8proc -lm -lpthread

fuzz:
	@scripts/install_deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

fuzz-smoke: fuzz
	@scripts/test/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: all $(BUILD)/bench_score
	@scripts/bench/bench.sh

# Model evaluation alone, for the in-memory scoring comparison.
$(BUILD)/bench_score: scripts/bench/bench_score.c $(BUILD)/libbinfer.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libbinfer.a $(LDLIBS)

demo: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p build/demo
	./binfer run configs/demo.yaml
	@echo "first results:" && zstd -dc build/demo/scores.jsonl.zst | head -3

clean:
	rm -rf build build-asan build-portable build-fuzz binfer
