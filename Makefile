# Makefile: the one build of coffre (GNU make).
#
#   make                 build/coffre, from build/libcoffre.a (keys/ vault/)
#                        and cli/*.c
#   make SANITIZE=address,undefined
#                        the same under sanitizers, in build-san/ (with the
#                        fault points of keys/fault.h compiled in)
#   make unit            the cmocka programs build/tests/test_* from
#                        tests/unit/test_*.c
#   make check           scripts/deps.sh, then tests/run.sh: every unit and
#                        e2e test on build/ and build-san/, then fuzz-smoke
#   make soak            tests/e2e/t94_faults.sh at length: every crash
#                        point (with SANITIZE=..., the fault build) and
#                        injected I/O error, then SOAK_OPS (10000)
#                        operations killed at random instants
#   make tsan            build-tsan/coffre (clang, ThreadSanitizer) and
#                        tests/e2e/t99_tsan.sh: the daemon under 32 clients
#                        mixing every route beside the embedded command
#   make coverage        build-cov/ (gcc --coverage), every unit and e2e
#                        test on it, then the line and branch coverage of
#                        vault/ and keys/ (gcovr; build-cov/coverage/)
#   make demo | bench | install | fuzz-smoke | fuzz | format | lint | clean
#   make help            this list, with the variables
#
# Variables: CC, PREFIX, DESTDIR, SANITIZE, FAULTS=0|1, PKGS, CFLAGS and
# LDFLAGS (added after ours), LDLIBS, BUILDDIR, FUZZ_SECONDS, SECONDS,
# FUZZ_ONLY, RUN_ARGS (options of tests/run.sh for `make check`, e.g.
# RUN_ARGS=--quick), SOAK_OPS, TSAN_SECONDS (60), V=1 (show the
# commands).

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

# Libraries, all through pkg-config.
PKGS = libsodium lmdb libmagic libarchive jansson libmicrohttpd libcurl
TEST_PKGS = cmocka

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man

SANITIZE ?=
ifeq ($(strip $(SANITIZE)),)
BUILDDIR ?= build
OPTFLAGS = -O2 -g
SANFLAGS =
FAULTS ?= 0
else
BUILDDIR ?= build-san
OPTFLAGS = -O1 -g
SANFLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
FAULTS ?= 1
endif

FUZZ_BUILDDIR = build-fuzz
FUZZ_CC = clang
FUZZ_SECONDS ?= 20
FUZZ_ONLY ?=

WARNFLAGS = -Wall -Wextra -Wpedantic -Werror -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -Wvla
HARDENFLAGS = -fstack-protector-strong -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
BASEFLAGS = -std=c11 $(WARNFLAGS) -D_GNU_SOURCE $(HARDENFLAGS) \
	-Iinclude -I. -pthread -MMD -MP
ifeq ($(FAULTS),1)
BASEFLAGS += -DCOFFRE_FAULTS
endif

CFLAGS ?=
LDFLAGS ?=
LDLIBS ?=

# pkg-config is asked once, and only by the targets that compile, so that
# `make deps`, `make clean` and `make check` (which installs the packages
# before it builds) work on a machine that lacks them.
pkg_need = $(if $(shell pkg-config --exists $(1) 2>/dev/null && echo y),,$(error \
	pkg-config does not find some of: $(1) ($(shell pkg-config \
	--print-errors --exists $(1) 2>&1 | head -n 1)); run `make deps`))
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call pkg_need,$(PKGS))$(shell \
	pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(call pkg_need,$(PKGS))$(shell \
	pkg-config --libs $(PKGS)))$(PKG_LIBS)
TEST_CFLAGS = $(eval TEST_CFLAGS := $(call pkg_need,$(TEST_PKGS))$(shell \
	pkg-config --cflags $(TEST_PKGS)))$(TEST_CFLAGS)
TEST_LIBS = $(eval TEST_LIBS := $(call pkg_need,$(TEST_PKGS))$(shell \
	pkg-config --libs $(TEST_PKGS)))$(TEST_LIBS)

ALL_CFLAGS = $(BASEFLAGS) $(OPTFLAGS) $(SANFLAGS) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pthread $(SANFLAGS) $(LDFLAGS)

LIB_SRCS := $(sort $(wildcard keys/*.c vault/*.c))
CLI_SRCS := $(sort $(wildcard cli/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILDDIR)/obj/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILDDIR)/obj/%.o)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILDDIR)/obj/%.o)
LIB := $(BUILDDIR)/libcoffre.a
BIN := $(BUILDDIR)/coffre
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILDDIR)/tests/%)

FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILDDIR)/obj/%.o)
FUZZ_LIB := $(FUZZ_BUILDDIR)/libcoffre.a
FUZZ_NAMES := $(FUZZ_SRCS:fuzz/%.c=%)
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILDDIR)/%)
FUZZ_SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 $(WARNFLAGS) -D_GNU_SOURCE -DCOFFRE_FUZZING \
	-Iinclude -I. -pthread -MMD -MP -O1 -g $(FUZZ_SANFLAGS) \
	$(PKG_CFLAGS) $(CFLAGS)

# The flags a build was made with: when they change (another CC, another
# SANITIZE, FAULTS), everything in that build directory is rebuilt.
FLAGS_FILE := $(BUILDDIR)/.flags
FUZZ_FLAGS_FILE := $(FUZZ_BUILDDIR)/.flags

# Objects reached only through a pattern chain are kept, not deleted.
.SECONDARY: $(UNIT_OBJS) $(FUZZ_NAMES:%=$(FUZZ_BUILDDIR)/obj/fuzz/%.o)

ifeq ($(V),1)
Q =
say = @:
else
Q = @
say = @printf '  %-7s %s\n'
endif

.PHONY: all install uninstall unit check demo bench bench-tools deps \
	fuzz-smoke fuzz \
	fuzz-build format format-check lint clean help FORCE

all: $(BIN)

$(BIN): $(CLI_OBJS) $(LIB)
	$(say) LD $@
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(PKG_LIBS) $(LDLIBS)

$(LIB): $(LIB_OBJS)
	$(say) AR $@
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $(LIB_OBJS)

$(BUILDDIR)/obj/%.o: %.c $(FLAGS_FILE)
	$(say) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILDDIR)/obj/tests/%.o: tests/%.c $(FLAGS_FILE)
	$(say) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -c -o $@ $<

$(FLAGS_FILE): FORCE
	$(Q)mkdir -p $(@D)
	$(Q)printf '%s\n' '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LDLIBS)' \
	    | cmp -s - $@ || printf '%s\n' \
	    '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LDLIBS)' >$@

# Unit tests: one cmocka program per tests/unit/test_*.c, linked against the
# library of the same build.  `make unit` builds them; tests/run.sh runs them.
unit: $(UNIT_BINS)

$(BUILDDIR)/tests/%: $(BUILDDIR)/obj/tests/unit/%.o $(LIB)
	$(say) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) $(TEST_WRAP) -o $@ $< $(LIB) $(PKG_LIBS) \
	    $(TEST_LIBS) $(LDLIBS)

# test_failures fails, one at a time, every call of these the library
# makes: each goes through its wrapper in tests/unit/test_failures.c.
FAIL_WRAPS := malloc calloc realloc sodium_malloc mdb_txn_begin mdb_get \
	mdb_put mdb_del mdb_cursor_open mdb_cursor_get mdb_cursor_del \
	mdb_dbi_open mdb_env_info mdb_env_open mdb_env_set_flags \
	mdb_env_set_mapsize \
	mdb_txn_commit pread pwrite write fstat lstat fsync fdatasync \
	ftruncate mkdir unlink flock pthread_create magic_load \
	json_object_set_new json_array_append_new open fopen opendir \
	magic_open archive_read_new archive_write_new json_dumps json_loadb \
	json_string newlocale mmap
$(BUILDDIR)/tests/test_failures: TEST_WRAP = \
	$(foreach f,$(FAIL_WRAPS),-Wl,--wrap=$(f))

install: $(BIN) docs/coffre.1
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/coffre
	install -m 0644 docs/coffre.1 $(DESTDIR)$(MANDIR)/man1/coffre.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/coffre $(DESTDIR)$(MANDIR)/man1/coffre.1

deps:
	@bash scripts/deps.sh

# check, demo and bench install what they need first, then build in a
# sub-make (so pkg-config is asked after the packages are there).
check:
	@bash scripts/deps.sh
	+@MAKE='$(MAKE)' bash tests/run.sh $(RUN_ARGS)

demo:
	@bash scripts/deps.sh
	+@MAKE='$(MAKE)' bash scripts/demo.sh

# The benchmark programs of the key tree, sweep, audit log and daemon: each
# a bench/NAME_bench.c linked against the library (internal headers
# allowed); and bench/raw_batch.c, the raw baseline of bench/serve.sh.
BENCH_SRCS := $(sort $(wildcard bench/*_bench.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILDDIR)/bench/%) \
	$(BUILDDIR)/bench/raw_batch

$(BUILDDIR)/bench/%: bench/%.c $(LIB)
	$(say) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) \
	    $(LDLIBS)

bench-tools: $(BENCH_BINS)

bench:
	@bash scripts/deps.sh
	+@$(MAKE) --no-print-directory all bench-tools
	@COFFRE_BIN="$(CURDIR)/$(BIN)" bash bench/run.sh
	@BENCH_DIR="$(CURDIR)/$(BUILDDIR)/bench" bash bench/keys.sh
	@COFFRE_BIN="$(CURDIR)/$(BIN)" BENCH_DIR="$(CURDIR)/$(BUILDDIR)/bench" \
	    bash bench/serve.sh
	@COFFRE_BIN="$(CURDIR)/$(BIN)" bash bench/bundle.sh

# Import and export alone (bench/bundle.sh: 500 documents of 2 MiB, against
# tar and unzip on the same files).
.PHONY: bench-bundle
bench-bundle:
	@bash scripts/deps.sh
	+@$(MAKE) --no-print-directory all
	@COFFRE_BIN="$(CURDIR)/$(BIN)" bash bench/bundle.sh

# The daemon benchmark alone (bench/serve.sh: seals through the socket by
# 1, 4 and 16 clients against the embedded CLI, restic and raw_batch).
.PHONY: bench-serve
bench-serve:
	@bash scripts/deps.sh
	+@$(MAKE) --no-print-directory all bench-tools
	@COFFRE_BIN="$(CURDIR)/$(BIN)" BENCH_DIR="$(CURDIR)/$(BUILDDIR)/bench" \
	    bash bench/serve.sh

# Fuzzing: each fuzz/fuzz_NAME.c is a libFuzzer harness, linked against the
# library compiled with clang under ASan and UBSan.  Seeds are read from
# fuzz/corpus/NAME/ (never written); new inputs go to build-fuzz/corpus/NAME/
# and crashes to build-fuzz/artifacts/NAME/.
$(FUZZ_BUILDDIR)/obj/%.o: %.c $(FUZZ_FLAGS_FILE)
	$(say) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

# A harness defines LLVMFuzzerTestOneInput without a prototype of its own.
$(FUZZ_BUILDDIR)/obj/fuzz/%.o: fuzz/%.c $(FUZZ_FLAGS_FILE)
	$(say) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-missing-prototypes \
	    -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(say) AR $@
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $(FUZZ_LIB_OBJS)

$(FUZZ_BUILDDIR)/fuzz_%: $(FUZZ_BUILDDIR)/obj/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(say) LD $@
	$(Q)$(FUZZ_CC) -pthread $(FUZZ_SANFLAGS) -fsanitize=fuzzer $(LDFLAGS) \
	    -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) $(LDLIBS)

$(FUZZ_FLAGS_FILE): FORCE
	$(Q)mkdir -p $(@D)
	$(Q)printf '%s\n' '$(FUZZ_CC) $(FUZZ_CFLAGS) $(LDFLAGS) $(LDLIBS)' \
	    | cmp -s - $@ || printf '%s\n' \
	    '$(FUZZ_CC) $(FUZZ_CFLAGS) $(LDFLAGS) $(LDLIBS)' >$@

fuzz-build: $(FUZZ_BINS)

# run_fuzz(seconds): run every harness (or FUZZ_ONLY=NAME) that long and
# print PASS: fuzz/NAME or FAIL: fuzz/NAME, as tests/run.sh counts them.
define run_fuzz
	+@if [ -z "$(FUZZ_NAMES)" ]; then \
	    echo "fuzz: no harnesses (fuzz/fuzz_*.c); nothing to run"; \
	    exit 0; \
	fi; \
	$(MAKE) --no-print-directory fuzz-build || exit 1; \
	failed=0; \
	for name in $(if $(FUZZ_ONLY),$(FUZZ_ONLY),$(FUZZ_NAMES)); do \
	    work=$(FUZZ_BUILDDIR)/corpus/$$name; \
	    art=$(FUZZ_BUILDDIR)/artifacts/$$name; \
	    log=$(FUZZ_BUILDDIR)/$$name.log; \
	    seeds=fuzz/corpus/$$name; \
	    [ -d "$$seeds" ] || { seeds=; \
		echo "fuzz: $$name has no seed corpus (fuzz/corpus/$$name/)"; }; \
	    mkdir -p "$$work" "$$art"; \
	    echo "fuzz: $$name for $(1)s"; \
	    if ASAN_OPTIONS=detect_leaks=1 $(FUZZ_BUILDDIR)/$$name \
		-max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$$art/" \
		"$$work" $$seeds >"$$log" 2>&1; then \
		runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' \
		    "$$log" | tail -n 1); \
		echo "PASS: fuzz/$$name ($${runs:-?} runs)"; \
	    else \
		echo "FAIL: fuzz/$$name (log: $$log, inputs: $$art/)"; \
		grep -v '^#' "$$log" | tail -n 40 | sed 's/^/    /'; \
		failed=1; \
	    fi; \
	done; \
	exit $$failed
endef

fuzz-smoke:
	$(call run_fuzz,$(FUZZ_SECONDS))

fuzz:
	$(call run_fuzz,$(if $(SECONDS),$(SECONDS),300))

# The fault-injection scenario of `make check` (crash points, I/O errors
# through tests/faults/iofail.c, a random-kill soak), with no time budget,
# a disk that stays full (FULL) besides EIO, ENOSPC and short writes, and
# SOAK_OPS operations in the soak.  The crash points need the fault build:
# `make soak SANITIZE=address,undefined`.
SOAK_OPS ?= 10000
.PHONY: soak
soak: $(BIN)
	@tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/coffre-soak.XXXXXX") || exit 1; \
	COFFRE_BIN="$(CURDIR)/$(BIN)" TMPDIR_E2E="$$tmp" \
	    COFFRE_ROOT="$(CURDIR)" COFFRE_FAULTS=$(FAULTS) \
	    COFFRE_SANITIZED=$(if $(strip $(SANITIZE)),1,0) \
	    ASAN_OPTIONS="$${ASAN_OPTIONS:-detect_leaks=1:exitcode=99}" \
	    UBSAN_OPTIONS="$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}" \
	    SOAK_OPS=$(SOAK_OPS) FAULTS_BUDGET=0 \
	    FAULTS_KINDS="$${FAULTS_KINDS:-EIO ENOSPC SHORT FULL}" \
	    bash tests/e2e/t94_faults.sh; \
	st=$$?; chmod -R u+rwX "$$tmp"; rm -rf "$$tmp"; exit $$st

# ThreadSanitizer: build-tsan/coffre (clang -fsanitize=thread, no fault
# points), then tests/e2e/t99_tsan.sh on it: the daemon with 32 clients
# mixing every route for TSAN_SECONDS beside the embedded command, SIGTERM
# under load, and every acknowledged document read back.  TSAN_OPTIONS
# (halt_on_error=1:second_deadlock_stack=1, tests/tsan.supp) are set by
# the scenario unless given.  `make check` runs it for 15 s.
TSAN_BUILDDIR = build-tsan
TSAN_SECONDS ?= 60
.PHONY: tsan
tsan:
	@bash scripts/deps.sh
	+@$(MAKE) --no-print-directory CC=clang SANITIZE=thread FAULTS=0 \
	    BUILDDIR=$(TSAN_BUILDDIR) all
	@tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/coffre-tsan.XXXXXX") || exit 1; \
	COFFRE_BIN="$(CURDIR)/$(TSAN_BUILDDIR)/coffre" TMPDIR_E2E="$$tmp" \
	    COFFRE_ROOT="$(CURDIR)" COFFRE_TSAN=1 \
	    TSAN_SECONDS=$(TSAN_SECONDS) bash tests/e2e/t99_tsan.sh; \
	st=$$?; chmod -R u+rwX "$$tmp"; rm -rf "$$tmp"; exit $$st

# Line and branch coverage of vault/ and keys/ (tests/coverage.sh): a gcc
# --coverage build in build-cov/, every unit program and e2e scenario on
# it, then gcovr: per file and total on stdout, the uncovered lines in
# build-cov/coverage/lines.txt (and branches.txt, index.html).
.PHONY: coverage
coverage:
	@bash scripts/deps.sh
	+@MAKE='$(MAKE)' bash tests/coverage.sh

# Sources of our own, for format and lint.
FORMAT_SRCS = $(sort $(wildcard include/*.h keys/*.[ch] vault/*.[ch] \
	cli/*.[ch] tests/unit/*.[ch] fuzz/*.[ch] bench/*.[ch]))
LINT_SRCS = $(sort $(wildcard keys/*.c vault/*.c cli/*.c))

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

# cppcheck and clang-tidy (checks in .clang-tidy); both fail on a finding.
lint:
	@if [ -z "$(LINT_SRCS)" ]; then echo "lint: no sources"; exit 0; fi
	cppcheck --std=c11 --enable=warning,performance,portability \
	    --error-exitcode=1 --inline-suppr --quiet \
	    --suppress=missingIncludeSystem -D_GNU_SOURCE -Iinclude -I. \
	    $(LINT_SRCS)
	clang-tidy --quiet $(LINT_SRCS) -- -std=c11 -D_GNU_SOURCE \
	    -DCOFFRE_FAULTS -Iinclude -I. $(PKG_CFLAGS)

clean:
	rm -rf build build-san build-fuzz

help:
	@sed -n '2,/^$$/{s/^# \{0,1\}//;p;}' Makefile

-include $(wildcard $(BUILDDIR)/obj/*/*.d $(BUILDDIR)/obj/tests/unit/*.d \
	$(FUZZ_BUILDDIR)/obj/*/*.d)

FORCE:
