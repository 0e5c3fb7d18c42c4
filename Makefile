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

PKGS    := libwebsockets libprotobuf-c sqlite3 jansson inih openssl libcurl zlib
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
	    libinih-dev libcmocka-dev libcurl4-openssl-dev zlib1g-dev \
	    python3-pytest python3-protobuf python3-websocket \
	    python3-cryptography python3-lxml libxml2-utils chromium fonts-wqy-microhei wrk \
	    faketime libfaketime
# libxml2's headers: tests/unit/test_xml_out.c parses what lib/xml_out.c
# writes
DEB_PKGS += libxml2-dev
# libev and lws's libev plugin: the hub's service loop on epoll
# (lib/evloop.c)
DEB_PKGS += libev-dev libwebsockets-evlib-ev
# libpq for the hub's [store] postgresql (hub/pglog.c); PostgreSQL 15 for
# the tests that start a real cluster (tests/system/pg.py)
DEB_PKGS += libpq-dev postgresql-15
# Node and npm for the browser tests, only where none is installed (a
# newer one from elsewhere is fine).
DEB_PKGS += $(if $(shell command -v node 2>/dev/null),,nodejs)
DEB_PKGS += $(if $(shell command -v npm 2>/dev/null),,npm)
BROWSER  := tests/browser
# npm ci for tests/browser whenever its node_modules is not what
# package-lock.json says (missing, or a package added or changed since:
# `npm ls` fails), not only when there is none.
NPM_CI = @(cd $(BROWSER) && npm ls --all >/dev/null 2>&1) || \
  (cd $(BROWSER) && npm ci --no-audit --no-fund)

# Debian packages to build the Debian packages (make deb) and check them
# (make deb-check: a Debian 12 chroot made by mmdebstrap from the apt
# sources of this machine).
DEB_BUILD_PKGS := debhelper dpkg-dev fakeroot lintian mmdebstrap \
	$(filter-out python3-% chromium fonts-wqy-microhei wrk faketime \
	  libfaketime nodejs npm libcmocka-dev libxml2-dev libxml2-utils \
	  postgresql-15,$(DEB_PKGS))

.PHONY: all help deps check check-postgresql unit system browser lint demo soak clean
.DEFAULT_GOAL := all
# keep the objects of unit tests (make would delete them as intermediates)
.SECONDARY:

all: $(BINS) $(PYGEN)/alliance_pb2.py ## build the hub, the node and alliancectl into build/

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# deb_install: a recipe installing the Debian packages $(1) that are
# missing (as root; otherwise it says what to run and fails).
define deb_install
@missing=$$(for p in $(1); do \
    dpkg-query -W -f='$${db:Status-Status}\n' $$p 2>/dev/null | \
    grep -qx installed || echo $$p; done); \
if [ -z "$$missing" ]; then exit 0; fi; \
if [ "$$(id -u)" -ne 0 ]; then \
  echo "missing packages; run as root:"; \
  echo "  apt-get update && apt-get install -y $$missing"; exit 1; fi; \
echo "installing: $$missing"; \
apt-get update -q && DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends $$missing
endef

deps: ## install every dependency from Debian's packages (and npm ci for tests/browser)
	$(call deb_install,$(DEB_PKGS))
	$(MAKE) $(PROMTOOL)
	$(NPM_CI)

# promtool, which test_28_alerts checks deploy/prometheus/ with, unpacked
# from Debian's prometheus package rather than installed: installing it
# would also install and start a Prometheus server.
PROMTOOL := build/tools/promtool
$(PROMTOOL):
	rm -rf $(@D)/prometheus-deb && mkdir -p $(@D)/prometheus-deb
	cd $(@D)/prometheus-deb && apt-get download prometheus && \
	  dpkg-deb -x prometheus_*.deb x
	cp $(@D)/prometheus-deb/x/usr/bin/promtool $@
	rm -rf $(@D)/prometheus-deb

check: deps ## build with ASan+UBSan and run lint, unit, system and browser tests
	$(MAKE) BUILD=build/asan all units
	$(MAKE) BUILD=build SAN=0 all   # the skew tests run it under libfaketime
	$(MAKE) lint
	$(MAKE) BUILD=build/asan unit
	$(MAKE) BUILD=build/asan system
	$(MAKE) BUILD=build/asan browser

units: $(UNIT)

unit: $(UNIT) ## run the cmocka unit tests
	@set -e; for t in $(UNIT); do echo "== $$t"; $$t; done

# The skew tests (test_15_clock) run nodes of the release build in build/
# under libfaketime, which does not mix with ASan.
system: all ## run the pytest system tests against real processes
	ALLIANCE_BUILD=$(abspath $(BUILD)) ALLIANCE_RELEASE_BUILD=$(abspath build) \
	  /usr/bin/python3 -m pytest -q --durations=20 tests/system

# The replica-kill tests (tests/system/test_18_replica_kill.py) run one
# round each in `make check` (ALLIANCE_KILL_ROUNDS unset: 1); the soak runs
# KILL_ROUNDS rounds of each on the ASan build, where a memory fault or a
# leak on the failover paths fails the round (every daemon must exit 0).
KILL_ROUNDS ?= 5
soak: deps ## the replica-kill tests, KILL_ROUNDS (5) rounds each (ASan + UBSan)
	$(MAKE) BUILD=build/asan all
	ALLIANCE_BUILD=$(abspath build/asan) ALLIANCE_KILL_ROUNDS=$(KILL_ROUNDS) \
	  /usr/bin/python3 -m pytest -q tests/system/test_18_replica_kill.py

# The sync, bulletin, relay and poll system tests again with every hub on
# PostgreSQL (ALLIANCE_HUB_STORE=postgresql: one cluster for the run,
# tests/system/pg.py); the replica tests (test_18*) run in `make check`.
PG_SYSTEM := test_20_sync test_30_bulletin test_40_requests \
  test_41_residents test_42_request_follow test_43_request_abuse \
  test_45_polls test_46_poll_tallies test_47_one_vote test_49_checkin
check-postgresql: deps ## the sync, bulletin, relay and poll system tests with the hub on PostgreSQL
	$(MAKE) BUILD=build/asan all
	ALLIANCE_BUILD=$(abspath build/asan) ALLIANCE_HUB_STORE=postgresql \
	  /usr/bin/python3 -m pytest -q $(PG_SYSTEM:%=tests/system/%.py)

browser: all ## run the browser tests (Debian's Chromium) against a local alliance
	$(NPM_CI)
	cd $(BROWSER) && ALLIANCE_BUILD=$(abspath $(BUILD)) \
	  node --test --test-concurrency=1

lint: ## refuse banned functions
	@tests/lint/banned

demo: deps all ## run a local alliance in the foreground
	deploy/local-alliance up --dir $(abspath build/demo) --communities 3

# Every executable in bench/ runs against the release build and prints its
# summary line last.
# (bench/peer-*: the peers of `make bench-peers`, which need bench-deps;
# bench/loaded: `make bench-loaded`; bench/replicas: `make bench-replicas`)
BENCHES := $(sort $(filter-out bench/peer-% bench/loaded bench/replicas,\
	     $(wildcard bench/*)))

# C programs of the benchmarks (load generators), built with the release
# flags into build/bench/ and linked with liballiance.a and what they
# share (bench/benchc.c, not a program).
BENCH_SHARED := bench/benchc.c
BENCH_BINS := $(patsubst bench/%.c,build/bench/%,\
	      $(filter-out $(BENCH_SHARED),$(wildcard bench/*.c)))

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

# What the comparison with the peers needs and `make deps` leaves out:
# mosquitto and nginx (the servers bench/peer-mosquitto and bench/peer-nginx
# start themselves, as this user or, for root, as an unprivileged one;
# bench-peers needs no service), wrk (also in `make deps`) and perf, to
# see where the hub's time goes (`perf record -e cpu-clock -g`).
BENCH_DEB_PKGS := mosquitto nginx wrk linux-perf

.PHONY: bench-deps bench-peers bench-search-peers
bench-deps: ## install what bench-peers needs (mosquitto, nginx, wrk) and perf
	$(call deb_install,$(BENCH_DEB_PKGS))

bench-peers: ## search against nginx; hub, mosquitto and the floor side by side, 1000 nodes (bench/peers.py)
	@[ -x /usr/sbin/mosquitto ] || \
	  { echo "bench-peers: run make bench-deps first"; exit 1; }
	$(MAKE) bench-search-peers
	ALLIANCE_BUILD=$(abspath build) /usr/bin/python3 bench/peers.py

# issue 17's loaded run: fan-out to 1000 nodes while three fresh nodes catch
# up 100,000 records each and wrk -t2 -c32 -d30s loads the public search,
# against the same fan-out idle (bench/loaded)
.PHONY: bench-loaded
bench-loaded: ## fan-out idle and under load (catch-up, public search), same run
	@command -v wrk >/dev/null || \
	  { echo "bench-loaded: wrk is missing (make deps)"; exit 1; }
	$(MAKE) BUILD=build SAN=0 all $(BENCH_BINS)
	ALLIANCE_BUILD=$(abspath build) bench/loaded

# issue 18: hub replicas on PostgreSQL against the sqlite hub, same run:
# fan-out over two replicas, a replica's SIGKILL, catch-up (bench/replicas;
# PostgreSQL 15 comes with `make deps`)
.PHONY: bench-replicas
bench-replicas: ## replicas on PostgreSQL against the sqlite hub: fan-out, failover, catch-up
	$(MAKE) BUILD=build SAN=0 all $(BENCH_BINS)
	ALLIANCE_BUILD=$(abspath build) /usr/bin/python3 bench/replicas

bench-search-peers: ## the hub's public search against nginx, same run (bench/peer-nginx)
	@[ -x /usr/sbin/nginx ] && command -v wrk >/dev/null || \
	  { echo "bench-search-peers: run make bench-deps first"; exit 1; }
	$(MAKE) BUILD=build SAN=0 all $(BENCH_BINS)
	ALLIANCE_BUILD=$(abspath build) bench/peer-nginx

# ---- Debian packages -----------------------------------------------------

# The packages are built from a copy of the tree in build/debsrc (so that
# dpkg-buildpackage writes its output there, not beside the tree) and land
# in build/debs with lintian's report.
DEBSRC := build/debsrc/alliance-$(VERSION)

.PHONY: deb-deps deb deb-check
deb-deps: ## install what `make deb` and `make deb-check` need (Debian packages)
	$(call deb_install,$(DEB_BUILD_PKGS))

deb: ## build alliance-{hub,node,tools,common} .debs into build/debs/ and run lintian
	@v=$$(dpkg-parsechangelog -S Version); [ "$$v" = "$(VERSION)" ] || \
	  { echo "debian/changelog says $$v, VERSION $(VERSION)"; exit 1; }
	rm -rf build/debsrc build/debs && mkdir -p $(DEBSRC) build/debs
	tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C $(DEBSRC)
	cd $(DEBSRC) && dpkg-buildpackage -b -uc -us
	mv build/debsrc/*.deb build/debsrc/*.changes build/debsrc/*.buildinfo \
	  build/debs/
	lintian --fail-on error --display-info build/debs/*.changes \
	  > build/debs/lintian.txt; rc=$$?; cat build/debs/lintian.txt; \
	  exit $$rc

deb-check: ## install, upgrade, remove and purge the .debs in a chroot (root)
	@[ "$$(id -u)" -eq 0 ] || { echo "make deb-check: needs root (it" \
	  "makes a chroot with mmdebstrap); run it as root"; exit 1; }
	$(MAKE) deb
	tests/deb/check build/debs

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

# libpq is the hub's alone ([store] postgresql, hub/pglog.c), and so is
# libev (its service loop, lib/evloop.c; Debian's libev has no .pc)
$(BUILD)/obj/hub/%.o: CFLAGS += $(shell pkg-config --cflags libpq)
$(BUILD)/alliance-hub: LDLIBS += $(shell pkg-config --libs libpq) -lev
$(BUILD)/alliance-hub: $(HUB_OBJ) $(BUILD)/liballiance.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/alliance-node: $(NODE_OBJ) $(BUILD)/liballiance.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/alliancectl: $(CLI_OBJ) $(BUILD)/liballiance.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/liballiance.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LDLIBS) \
	  -lcmocka

# the hub's service loop on libev (lib/evloop.c)
$(BUILD)/tests/test_evloop: LDLIBS += -lev

# test_config holds the daemons' own tables to their bounds and rules too.
$(BUILD)/tests/test_config: $(BUILD)/obj/hub/config.o $(BUILD)/obj/node/config.o
$(BUILD)/obj/tests/unit/test_config.o: CFLAGS += -iquote hub -iquote node

# the node's data layer is tested on its own objects
$(BUILD)/tests/test_request_store: $(BUILD)/obj/node/request_store.o
$(BUILD)/obj/tests/unit/test_request_store.o: CFLAGS += -iquote node
$(BUILD)/tests/test_resident_store: $(BUILD)/obj/node/resident_store.o
$(BUILD)/obj/tests/unit/test_resident_store.o: CFLAGS += -iquote node
$(BUILD)/tests/test_poll_store: $(BUILD)/obj/node/poll_store.o
$(BUILD)/obj/tests/unit/test_poll_store.o: CFLAGS += -iquote node
$(BUILD)/tests/test_hub_poll_store: $(BUILD)/obj/hub/poll_store.o
$(BUILD)/obj/tests/unit/test_hub_poll_store.o: CFLAGS += -iquote hub

# lib/xml_out.c's test reads what it writes back with a real parser
$(BUILD)/obj/tests/unit/test_xml_out.o: CFLAGS += $(shell pkg-config --cflags libxml-2.0)
$(BUILD)/tests/test_xml_out: LDLIBS += $(shell pkg-config --libs libxml-2.0)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/obj/bench/benchc.o \
		  $(BUILD)/liballiance.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- fuzzing (not part of `make check`) ----------------------------------

# libFuzzer targets, one per input a daemon parses: tests/fuzz/fuzz_NAME.c
# is build/fuzz/fuzz_NAME. Everything they run is built here with clang's
# fuzzer instrumentation and ASan+UBSan: lib/ (build/fuzz/obj/), the few
# files of hub/ and node/ a target names, and protobuf-c itself, from
# Debian's source package of the installed version (the system's library
# is not instrumented, so the fuzzer would be blind inside the decoder).
# `make fuzz` runs each target for FUZZ_SECONDS on its seeds in
# tests/fuzz/corpus/NAME/ and what earlier runs found (build/fuzz/corpus/),
# with tests/fuzz/NAME.dict as its dictionary when there is one, then
# prints the executions of each. FUZZ_SECONDS=120 for six targets is
# twelve minutes.
FUZZ          := build/fuzz
FUZZ_TARGETS  := wire form json open311 config search
FUZZ_SECONDS  ?= 120
FUZZ_BINS     := $(patsubst %,$(FUZZ)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_DEB_PKGS := clang libclang-rt-dev dpkg-dev
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		 -fno-omit-frame-pointer
# lib/ is an -iquote path: its headers never stand in for a system header;
# clang's -Wstring-concatenation would flag the SQL of bulletin_store.c.
FUZZ_CFLAGS   := -g -O1 -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
		 -Wno-string-concatenation -D_GNU_SOURCE \
		 -DALLIANCE_VERSION='"$(VERSION)"' -iquote lib -iquote $(GEN) \
		 -iquote hub -iquote node -I $(FUZZ)/protobuf-c/include \
		 $(shell pkg-config --cflags $(filter-out libprotobuf-c,$(PKGS)))
FUZZ_LDLIBS   := $(FUZZ)/protobuf-c/libprotobuf-c.a \
		 $(filter-out -lprotobuf-c,$(LDLIBS))
FUZZ_LIB_OBJ  := $(patsubst %.c,$(FUZZ)/obj/%.o,$(wildcard lib/*.c)) \
		 $(FUZZ)/obj/gen/alliance.pb-c.o
# Files of the daemons a target runs besides lib/ (their tables, the
# node's Open311 form).
FUZZ_EXTRA_config  := $(FUZZ)/obj/hub/config.o $(FUZZ)/obj/node/config.o
FUZZ_EXTRA_open311 := $(FUZZ)/obj/node/request_form.o

# protobuf-c's source: Debian's package of the version installed (the
# generated code and the headers must agree), fetched with a deb-src entry
# of the system's own mirror given to apt for this call only: its own
# source list, lists and cache under build/fuzz/apt/, so the system's apt
# configuration and state are untouched.
FUZZ_PBC_VERSION ?= $(shell dpkg-query -W -f='$${source:Version}' \
		      libprotobuf-c-dev 2>/dev/null)
FUZZ_MIRROR ?= $(or $(shell sed -n 's/^URIs: *\([^ ]*\).*/\1/p' \
		 /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1),\
		 http://deb.debian.org/debian)
FUZZ_SUITE  ?= $(shell . /etc/os-release && echo $$VERSION_CODENAME)
FUZZ_APT     = apt-get -q -o Dir::Etc::SourceList=$(abspath $(FUZZ))/apt/sources.list \
	       -o Dir::Etc::SourceParts=- \
	       -o Dir::State::Lists=$(abspath $(FUZZ))/apt/lists \
	       -o Dir::Cache=$(abspath $(FUZZ))/apt/cache \
	       -o APT::Sandbox::User=root

.PHONY: fuzz fuzz-deps fuzz-build fuzz-merge

fuzz-deps: ## install clang and what the fuzz build needs (Debian packages)
	$(call deb_install,$(FUZZ_DEB_PKGS))

fuzz-build: fuzz-deps $(FUZZ_BINS) $(FUZZ)/gen_corpus ## build the libFuzzer targets into build/fuzz/

fuzz: fuzz-build ## run every libFuzzer target for FUZZ_SECONDS (default 120) each
	@set -e; mkdir -p $(FUZZ)/artifacts; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ)/corpus/$$t; \
	  echo "== fuzz_$$t: $(FUZZ_SECONDS) s (log: $(FUZZ)/fuzz_$$t.log)"; \
	  dict=; [ ! -f tests/fuzz/$$t.dict ] || dict=-dict=tests/fuzz/$$t.dict; \
	  $(FUZZ)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    -timeout=10 -print_final_stats=1 $$dict \
	    -artifact_prefix=$(FUZZ)/artifacts/$$t- \
	    $(FUZZ)/corpus/$$t tests/fuzz/corpus/$$t \
	    > $(FUZZ)/fuzz_$$t.log 2>&1 || \
	    { tail -n 60 $(FUZZ)/fuzz_$$t.log; \
	      echo "fuzz_$$t: FAILED, input in $(FUZZ)/artifacts/"; exit 1; }; \
	done; \
	echo "== executions per target ($(FUZZ_SECONDS) s each)"; \
	for t in $(FUZZ_TARGETS); do \
	  awk -v t=fuzz_$$t '/stat::number_of_executed_units/ {n=$$2} \
	    /stat::average_exec_per_sec/ {r=$$2} \
	    END {printf "  %-14s %12d executions %8d exec/s\n", t, n, r}' \
	    $(FUZZ)/fuzz_$$t.log; \
	done

# fuzz-merge: add to each tests/fuzz/corpus/NAME/ the FUZZ_MERGE_MAX inputs
# of build/fuzz/corpus/NAME/ that reach the most code the seeds do not
# (libFuzzer's merge says what each reaches; tests/fuzz/pick.py chooses),
# so the committed corpus stays small.
FUZZ_MERGE_MAX ?= 10
fuzz-merge: fuzz-build ## keep the best inputs `make fuzz` found as seeds in tests/fuzz/corpus/
	@set -e; for t in $(FUZZ_TARGETS); do \
	  rm -rf $(FUZZ)/merge $(FUZZ)/merge.ctl; \
	  mkdir -p $(FUZZ)/merge $(FUZZ)/corpus/$$t; \
	  cp tests/fuzz/corpus/$$t/* $(FUZZ)/merge/; \
	  $(FUZZ)/fuzz_$$t -merge=1 -merge_control_file=$(FUZZ)/merge.ctl \
	    $(FUZZ)/merge $(FUZZ)/corpus/$$t > $(FUZZ)/merge.log 2>&1; \
	  tests/fuzz/pick.py $(FUZZ)/merge.ctl $(FUZZ_MERGE_MAX) \
	    tests/fuzz/corpus/$$t; \
	done

$(FUZZ)/apt/sources.list:
	@mkdir -p $(dir $@)
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
	  "$(FUZZ_MIRROR) $(FUZZ_SUITE) main" > $@

$(FUZZ)/protobuf-c/src/.fetched: $(FUZZ)/apt/sources.list
	@[ -n "$(FUZZ_PBC_VERSION)" ] || \
	  { echo "fuzz: libprotobuf-c-dev is not installed (make deps)"; exit 1; }
	rm -rf $(FUZZ)/protobuf-c/src
	mkdir -p $(FUZZ)/apt/lists/partial $(FUZZ)/apt/cache/archives/partial \
	  $(FUZZ)/protobuf-c/src
	$(FUZZ_APT) update
	cd $(FUZZ)/protobuf-c/src && \
	  $(FUZZ_APT) source protobuf-c=$(FUZZ_PBC_VERSION)
	touch $@

# Two checks of UBSan are off inside protobuf-c 1.4.1 only, for its own
# known undefined behaviour, harmless as compiled and open upstream, both
# of which fuzz_wire reached: NULL + 0 when a packed repeated field
# arrives empty (protobuf-c issue #792; a Tally's counts) and an int
# shifted past its sign in a 5-byte field tag (#794; a bulletin's signed
# content, decoded before its signature is checked). The rest of UBSan
# and all of ASan stay on there.
FUZZ_PBC_NOSAN := -fno-sanitize=pointer-overflow,shift-base
FUZZ_PBC_H     := $(FUZZ)/protobuf-c/include/protobuf-c/protobuf-c.h

$(FUZZ_PBC_H): $(FUZZ)/protobuf-c/src/.fetched
	@mkdir -p $(dir $@)
	cp $(FUZZ)/protobuf-c/src/protobuf-c-*/protobuf-c/protobuf-c.h $@

$(FUZZ)/protobuf-c/libprotobuf-c.a: $(FUZZ)/protobuf-c/src/.fetched
	clang -g -O1 -fsanitize=fuzzer-no-link $(FUZZ_SAN) $(FUZZ_PBC_NOSAN) \
	  -c -o $(FUZZ)/protobuf-c/protobuf-c.o \
	  $(FUZZ)/protobuf-c/src/protobuf-c-*/protobuf-c/protobuf-c.c
	rm -f $@ && ar rcs $@ $(FUZZ)/protobuf-c/protobuf-c.o

$(FUZZ)/obj/gen/%.o: $(GEN)/%.c $(FUZZ_PBC_H)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Wno-shadow -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
	  -MMD -MP -c -o $@ $<

$(FUZZ)/obj/%.o: %.c $(GEN)/alliance.pb-c.h $(FUZZ_PBC_H)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
	  -MMD -MP -c -o $@ $<

$(FUZZ)/liballiance.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

.SECONDEXPANSION:
$(FUZZ)/fuzz_%: $(FUZZ)/obj/tests/fuzz/fuzz_%.o $$(FUZZ_EXTRA_$$*) \
		$(FUZZ)/liballiance.a $(FUZZ)/protobuf-c/libprotobuf-c.a
	clang -fsanitize=fuzzer $(FUZZ_SAN) -o $@ \
	  $(filter-out %/libprotobuf-c.a,$^) $(FUZZ_LDLIBS)

# The generator of the wire seeds: `build/fuzz/gen_corpus
# tests/fuzz/corpus/wire` after a change of the schema.
$(FUZZ)/gen_corpus: $(FUZZ)/obj/tests/fuzz/gen_corpus.o $(FUZZ)/liballiance.a \
		   $(FUZZ)/protobuf-c/libprotobuf-c.a
	clang -fsanitize=fuzzer-no-link $(FUZZ_SAN) -o $@ \
	  $(filter-out %/libprotobuf-c.a,$^) $(FUZZ_LDLIBS)

-include $(shell find $(BUILD)/obj $(FUZZ)/obj -name '*.d' 2>/dev/null)
