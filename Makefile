# Makefile: the one build of Alliance. `make help` lists the targets.
#
# Parts: dependencies (Debian packages); the release build in build/; the
# sanitizer build in build/asan/ that `make check` tests; generated protobuf
# code in build/gen/; tests, demo, benchmarks.

BUILD   ?= build
GEN     := build/gen
PYGEN   := $(GEN)/python
# build/asan is always the sanitizer variant, whoever calls for it, so
# its objects are never mixed with plain ones
ifeq ($(BUILD),build/asan)
SAN     := 1
endif
SAN     ?= 0
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS    := libwebsockets libprotobuf-c sqlite3 jansson inih openssl libcurl
CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	   -D_GNU_SOURCE -DALLIANCE_VERSION='"$(VERSION)"' \
	   -iquote lib -iquote $(GEN) $(shell pkg-config --cflags $(PKGS))
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lssl -lcrypto -lpthread
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard lib/*.c)) \
	    $(BUILD)/obj/gen/alliance.pb-c.o
HUB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard hub/*.c))
NODE_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard node/*.c))
CLI_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cli/*.c))
UNIT     := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
BINS     := $(BUILD)/alliance-hub $(BUILD)/alliance-node $(BUILD)/alliancectl

# Debian packages for building, testing and running.
DEB_PKGS := build-essential pkg-config openssl ca-certificates curl \
	    libwebsockets-dev libprotobuf-c-dev protobuf-c-compiler \
	    protobuf-compiler libsqlite3-dev libssl-dev libjansson-dev \
	    libinih-dev libcmocka-dev libcurl4-openssl-dev \
	    python3-pytest python3-protobuf python3-websocket \
	    python3-cryptography libxml2-utils chromium fonts-wqy-microhei wrk
# Node and npm for the browser tests, only where none is installed (a
# newer one from elsewhere is fine).
DEB_PKGS += $(if $(shell command -v node 2>/dev/null),,nodejs)
DEB_PKGS += $(if $(shell command -v npm 2>/dev/null),,npm)
BROWSER  := tests/browser

.PHONY: all help deps check unit system browser lint demo clean
.DEFAULT_GOAL := all
# keep the objects of unit tests (make would delete them as intermediates)
.SECONDARY:

all: $(BINS) $(PYGEN)/alliance_pb2.py ## build the hub, the node and alliancectl into build/

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

deps: ## install every dependency from Debian's packages (and npm ci for tests/browser)
	@missing=$$(for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${db:Status-Status}\n' $$p 2>/dev/null | \
	    grep -qx installed || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
	  echo "missing packages; run as root:"; \
	  echo "  apt-get update && apt-get install -y $$missing"; exit 1; fi; \
	echo "installing: $$missing"; \
	apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q --no-install-recommends $$missing
	@[ -d $(BROWSER)/node_modules ] || \
	  (cd $(BROWSER) && npm ci --no-audit --no-fund)

check: deps ## build with ASan+UBSan and run lint, unit, system and browser tests
	$(MAKE) BUILD=build/asan all units
	$(MAKE) lint
	$(MAKE) BUILD=build/asan unit
	$(MAKE) BUILD=build/asan system
	$(MAKE) BUILD=build/asan browser

units: $(UNIT)

unit: $(UNIT) ## run the cmocka unit tests
	@set -e; for t in $(UNIT); do echo "== $$t"; $$t; done

system: all ## run the pytest system tests against real processes
	ALLIANCE_BUILD=$(abspath $(BUILD)) /usr/bin/python3 -m pytest -q tests/system

browser: all ## run the browser tests (Debian's Chromium) against a local alliance
	@[ -d $(BROWSER)/node_modules ] || \
	  (cd $(BROWSER) && npm ci --no-audit --no-fund)
	cd $(BROWSER) && ALLIANCE_BUILD=$(abspath $(BUILD)) \
	  node --test --test-concurrency=1

lint: ## refuse banned functions
	@tests/lint/banned

demo: deps all ## run a local alliance in the foreground
	deploy/local-alliance up --dir $(abspath build/demo) --communities 3

# Every executable in bench/ runs against the release build and prints its
# summary line last.
BENCHES := $(sort $(wildcard bench/*))

# C programs of the benchmarks (load generators), built with the release
# flags into build/bench/ and linked with liballiance.a.
BENCH_BINS := $(patsubst bench/%.c,build/bench/%,$(wildcard bench/*.c))

.PHONY: bench
bench: ## run the benchmarks in bench/ (release build)
	$(MAKE) BUILD=build SAN=0 all $(BENCH_BINS)
	@set -e; for b in $(BENCHES); do [ -x "$$b" ] || continue; \
	  echo "== $$b"; ALLIANCE_BUILD=$(abspath build) $$b; done

# The fan-out plot needs gnuplot, which `make deps` leaves out (CI has no
# use for it): apt-get install gnuplot-nox.
.PHONY: bench-plot
bench-plot: ## fan-out at 65/250/1000/4000 nodes and its plot bench/fanout.png (gnuplot)
	@command -v gnuplot >/dev/null || \
	  { echo "bench-plot: apt-get install gnuplot-nox"; exit 1; }
	$(MAKE) BUILD=build SAN=0 all $(BENCH_BINS)
	ALLIANCE_BUILD=$(abspath build) python3 bench/sweep.py

clean: ## remove build/
	rm -rf build

# ---- generated code ------------------------------------------------------

$(GEN)/alliance.pb-c.c $(GEN)/alliance.pb-c.h: proto/alliance.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) $<

$(PYGEN)/alliance_pb2.py: proto/alliance.proto
	@mkdir -p $(PYGEN)
	protoc --proto_path=proto --python_out=$(PYGEN) $<

# ---- objects and programs ------------------------------------------------

$(BUILD)/obj/gen/%.o: $(GEN)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-shadow -MMD -MP -c -o $@ $<

$(BUILD)/obj/%.o: %.c | $(GEN)/alliance.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The archive is remade whenever its member list changes too, so a file
# removed from lib/ leaves no stale member behind.
$(BUILD)/lib-members: FORCE
	@mkdir -p $(BUILD)
	@echo '$(LIB_OBJ)' | cmp -s - $@ || echo '$(LIB_OBJ)' > $@

$(BUILD)/liballiance.a: $(LIB_OBJ) $(BUILD)/lib-members
	rm -f $@ && ar rcs $@ $(LIB_OBJ)

.PHONY: FORCE
FORCE:

$(BUILD)/alliance-hub: $(HUB_OBJ) $(BUILD)/liballiance.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/alliance-node: $(NODE_OBJ) $(BUILD)/liballiance.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/alliancectl: $(CLI_OBJ) $(BUILD)/liballiance.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/liballiance.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/liballiance.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- fuzzing (not part of `make check`) ----------------------------------

# libFuzzer target of the Frame codec and the generator of its seeds. Only
# the codec's own sources go in, so nothing else of lib/ is needed. lib/ is
# an -iquote path here so that lib/limits.h cannot shadow <limits.h>.
FUZZ_SRC    := lib/wire.c lib/text.c lib/err.c $(GEN)/alliance.pb-c.c
FUZZ_CFLAGS := -g -O1 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	       -iquote lib -iquote $(GEN) $(shell pkg-config --cflags libprotobuf-c)

.PHONY: fuzz
fuzz: $(GEN)/alliance.pb-c.c $(GEN)/alliance.pb-c.h ## build the libFuzzer target build/fuzz/fuzz_wire (needs clang)
	@if ! command -v clang >/dev/null 2>&1; then \
	  echo "fuzz: clang is not installed; install it with:"; \
	  echo "  apt-get install clang"; \
	  echo "fuzz: skipped"; exit 0; fi; \
	set -e; mkdir -p build/fuzz; \
	echo "clang -fsanitize=fuzzer,address,undefined -o build/fuzz/fuzz_wire"; \
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o build/fuzz/fuzz_wire tests/fuzz/fuzz_wire.c $(FUZZ_SRC) \
	  $(shell pkg-config --libs libprotobuf-c); \
	clang $(FUZZ_CFLAGS) -o build/fuzz/gen_corpus tests/fuzz/gen_corpus.c \
	  $(FUZZ_SRC) $(shell pkg-config --libs libprotobuf-c); \
	echo "run: mkdir -p build/fuzz/corpus && build/fuzz/fuzz_wire" \
	  "-rss_limit_mb=2048 build/fuzz/corpus tests/fuzz/corpus"

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
