# hbmon — build, test, install, demo, bench, clean.  Plain GNU make, -j safe.
#
#   make                 optimised build into bin/
#   make SAN=1           ASan+UBSan build into build/san/bin/
#   make test            unit + end-to-end tests (real PostgreSQL; see tests/run)
#   make test SAN=1      the same suite against the sanitizer build
#   make install PREFIX=/usr/local DESTDIR=
#   make WERROR=1        warnings are errors (CI sets this)

VERSION := 0.1.0
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
PKGS    := rdkafka json-c libpq
PROGS   := hbsim hbclassify hbpgload hbkafka-pub hbkafka-sub

CC      ?= cc
PKG_CONFIG ?= pkg-config
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wformat=2 \
           -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif

ifeq ($(SAN),1)
BUILD   := build/san
BIN     := $(BUILD)/bin
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN   := -fsanitize=address,undefined
else
BUILD   := build/opt
BIN     := bin
OPT     := -O2 -g
LDSAN   :=
endif

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CPPFLAGS   += -Ilib -DHB_VERSION='"$(VERSION)"'
ALL_CFLAGS  = $(CSTD) $(WARN) $(OPT) $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDSAN) $(LDFLAGS)
LIBS_ALL    = $(PKG_LIBS) -lm

LIB_SRC  := $(wildcard lib/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBHB    := $(BUILD)/libhb.a
PROG_BIN := $(PROGS:%=$(BIN)/%)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# libFuzzer harnesses, also built with a plain driver that replays their corpus
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/%)

.PHONY: all deps check-deps test _test unit install uninstall clean demo bench man-check fuzz fuzz-build chaos bench-scale bench-soak bench-volume bench-alerts bench-fleet
all: check-deps $(PROG_BIN) $(UNIT_BIN) $(FUZZ_BIN)

# One line saying exactly what is missing, rather than a wall of compiler errors.
check-deps:
	@$(PKG_CONFIG) --exists $(PKGS) || { \
	  echo "hbmon: missing build dependencies; run: sudo scripts/hb-deps (or: apt-get install -y build-essential pkg-config librdkafka-dev libjson-c-dev libpq-dev)" >&2; \
	  exit 2; }

deps:
	scripts/hb-deps

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBHB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BIN)/%: $(BUILD)/cmd/%/main.o $(LIBHB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBHB) $(LIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/tap.o $(LIBHB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/tests/unit/tap.o $(LIBHB) $(LIBS_ALL)

$(BUILD)/tests/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/driver.o $(LIBHB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/tests/fuzz/driver.o $(LIBHB) $(LIBS_ALL)

# Coverage-guided fuzzing with libFuzzer (clang): FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_DIR     := build/fuzz
FUZZ_FLAGS   := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_TARGETS := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/%)

$(FUZZ_DIR)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) $(CPPFLAGS) -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CSTD) $(FUZZ_FLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) $(CPPFLAGS) -o $@ $< $(FUZZ_LIB_OBJ) $(LIBS_ALL)

fuzz-build: $(FUZZ_TARGETS)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZ_TARGETS)

# The long chaos run: CHAOS_SEED, CHAOS_SECONDS, CHAOS_READINGS.
chaos: all
	HB_BIN=$(abspath $(BIN)) tests/chaos/run --seed $(or $(CHAOS_SEED),1) \
		--duration $(or $(CHAOS_SECONDS),600) --readings $(or $(CHAOS_READINGS),1000000)

# The whole suite: unit tests (TAP) and bats end-to-end tests against real
# servers that tests/run starts.  Missing Debian packages are installed first
# (as root), or named in one line; then make runs again so pkg-config sees them.
test:
	@scripts/hb-deps test
	@$(MAKE) --no-print-directory _test

_test: all
	HB_BIN=$(abspath $(BIN)) HB_UNIT=$(abspath $(BUILD)/tests) tests/run

# The live pipeline on a local PostgreSQL, until Ctrl-C.  exec: the shell
# make runs the line in would otherwise die of the Ctrl-C after hb-demo's
# clean stop, and make would report "Interrupt".
demo:
	@scripts/hb-deps demo
	@$(MAKE) --no-print-directory all
	HB_BIN=$(abspath $(BIN)) exec scripts/hb-demo

unit: all
	HB_BIN=$(abspath $(BIN)) HB_UNIT=$(abspath $(BUILD)/tests) tests/run --unit-only

# Scripts that stand on their own (psql, jq, gnuplot, curl): installed with the programs.
TOOLS := hb-report hb-notify hb-watch hb-partitions

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(PROG_BIN) $(DESTDIR)$(BINDIR)/
	install -m 0755 $(TOOLS:%=scripts/%) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(PROGS:%=man/%.1) $(DESTDIR)$(MANDIR)/man1/

uninstall:
	rm -f $(PROGS:%=$(DESTDIR)$(BINDIR)/%) $(TOOLS:%=$(DESTDIR)$(BINDIR)/%) $(PROGS:%=$(DESTDIR)$(MANDIR)/man1/%.1)

man-check:
	@for m in $(PROGS:%=man/%.1); do \
	  LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$$m" >/dev/null 2>"$(BUILD)/man.err" || exit 1; \
	  if [ -s "$(BUILD)/man.err" ]; then cat "$(BUILD)/man.err" >&2; exit 1; fi; done

bench: all
	@scripts/hb-deps bench
	HB_BIN=$(abspath $(BIN)) bench/core.sh
	HB_BIN=$(abspath $(BIN)) bench/kafka.sh
	HB_BIN=$(abspath $(BIN)) bench/latency.sh
	HB_BIN=$(abspath $(BIN)) bench/alerts.sh

# hbclassify's alerts scored against hbsim --truth (no servers).
bench-alerts: all
	HB_BIN=$(abspath $(BIN)) bench/alerts.sh

# make bench's loader figure at 100 and 100,000 customers, in alternation.
bench-fleet: all
	HB_BIN=$(abspath $(BIN)) bench/fleet.sh

# The scaling curve: 1-3 consumer pipelines on 1 and 3 brokers.
bench-scale: all
	HB_BIN=$(abspath $(BIN)) bench/scale.sh

# 100,000,000 readings loaded, then every dashboard and report query timed.
bench-volume: all
	@scripts/hb-deps bench
	HB_BIN=$(abspath $(BIN)) bench/volume.sh

# A 30-minute live run at 5,000 readings/s: memory and latency over time.
SOAK_SECONDS ?= 1800
SOAK_RATE ?= 5000
bench-soak: all
	HB_BIN=$(abspath $(BIN)) SOAK_SECONDS=$(SOAK_SECONDS) SOAK_RATE=$(SOAK_RATE) bench/soak.sh

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(PROGS:%=$(BUILD)/cmd/%/main.d) $(UNIT_SRC:%.c=$(BUILD)/%.d) $(FUZZ_SRC:%.c=$(BUILD)/%.d)
