# pagegrab — plain GNU Makefile.
#
#   make              build build/pagegrab (and build/libpagegrab.a)
#   make test         unit tests + integration tests (real HTTP on 127.0.0.1)
#   make asan         the same suites under AddressSanitizer + UBSan
#   make tsan         thread-mode integration suite under ThreadSanitizer
#   make valgrind     batch, crawl and a fault subset, K=1 and K=4, valgrind
#   make coverage     all suites built with gcov; line/branch coverage of
#                     src/ per file (gcovr, installed on demand)
#   make torture      pagegrab under ASan with allocation N failing, for
#                     every N a run reaches (tests/torture.sh)
#   make fuzz         libFuzzer targets with clang into build/fuzz/
#   make demo         install missing deps, build, fetch the bundled sample site
#   make bench        benchmarks against curl, wget2, aria2c (tests/bench/)
#   make bench-publish  rename vs O_TMPFILE+linkat, per published file
#   make install      PREFIX=/usr/local DESTDIR=  the program, libpagegrab.a,
#                     libpagegrab.so.0, pagegrab.h, pagegrab.pc, the man
#                     page and the sample config; `make uninstall` removes them
#   make install-test install into a temp PREFIX, build and run an
#                     embedder's hello world against it with pkg-config,
#                     shared and --static (part of `make test`)
#   make lint         banned functions, and `make shape`
#   make shape        file and function lengths, the src/ include graph
#                     (tests/lint/shape.sh)
#
# Each flavour builds into its own directory: build/, build/asan/, build/tsan/,
# build/cov/, build/torture/.

PKG_CONFIG ?= pkg-config
CC ?= cc
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/pagegrab
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

VERSION := 0.1.0
# The shared library's ABI version: libpagegrab.so.$(SOVERSION).
SOVERSION := 0

DEPS := libcurl libxml-2.0 libpcre2-8 libcrypto hiredis
TEST_DEPS := cmocka libmicrohttpd

SANITIZE ?=
O ?= build

CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
	-DPG_VERSION='"$(VERSION)"' -MMD -MP
ifeq ($(DEVELOPER),1)
BASE_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
BASE_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_LDFLAGS := -fsanitize=$(SANITIZE)
endif

DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(DEPS) 2>/dev/null)
DEP_LIBS := $(shell $(PKG_CONFIG) --libs $(DEPS) 2>/dev/null) -lpthread -lm
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(TEST_DEPS) 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
MHD_LIBS := $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null)

ALL_CFLAGS = $(BASE_CFLAGS) $(DEP_CFLAGS) $(CFLAGS)
# Every symbol bound at start (full RELRO): a forked worker then finds
# its GOT filled in instead of resolving each library call it makes
# first again (about 17 page faults and 0.6 ms of CPU a worker).
BIND_LDFLAGS := -Wl,-z,relro -Wl,-z,now
ALL_LDFLAGS = $(SAN_LDFLAGS) $(BIND_LDFLAGS) $(LDFLAGS)

LIB_SRC := $(sort $(wildcard src/*.c))
CMD_SRC := $(sort $(wildcard cmd/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
CMD_OBJ := $(CMD_SRC:%.c=$(O)/%.o)
LIB := $(O)/libpagegrab.a
SONAME := libpagegrab.so.$(SOVERSION)
SOLIB := $(O)/libpagegrab.so.$(VERSION)
BIN := $(O)/pagegrab

# Unit tests: tests/unit/test_<module>.c, each linked with the library
# built with PG_UNITTEST (so static helpers are reachable).
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/unit/%)
ULIB_OBJ := $(LIB_SRC:src/%.c=$(O)/ut/src/%.o)
ULIB := $(O)/ut/libpagegrab-ut.a

# Fuzz targets: tests/fuzz/NAME_fuzzer.c.  `make test` links each with
# replay.c and feeds it its corpus (NAME.in/) and crash files
# (NAME.repro/); `make fuzz` builds real libFuzzer binaries with clang.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/*_fuzzer.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%_fuzzer.c=$(O)/tests/fuzz/%)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/%_fuzzer.c=%)

# Integration tests: tests/integration/test_*.c, linked with tests/lib/*.c
# (the in-process libmicrohttpd server and the run helpers). Programs in
# tests/lib/prog/*.c (e.g. pg-serve, used by `make demo`) link the same.
TLIB_SRC := $(sort $(wildcard tests/lib/*.c))
TLIB_OBJ := $(TLIB_SRC:%.c=$(O)/%.o)
TLIB := $(O)/tests/libpgtest.a
IT_SRC := $(sort $(wildcard tests/integration/test_*.c))
IT_BIN := $(IT_SRC:tests/integration/%.c=$(O)/tests/integration/%)
PROG_SRC := $(sort $(wildcard tests/lib/prog/*.c))
PROG_BIN := $(PROG_SRC:tests/lib/prog/%.c=$(O)/tests/%)

PHONY_EXTRA := deps test-run fuzz fuzz-replay bench bench-fleet bench-publish
.PHONY: $(PHONY_EXTRA) all test unit-test integration-test integration-test-multi check-deps asan tsan valgrind \
	demo install uninstall clean lint shape lib install-test test-progs

all: $(BIN) $(SOLIB)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The library's objects serve both libpagegrab.a and libpagegrab.so: PIC,
# and only what pagegrab.h marks PG_API is visible outside the .so.  They
# depend on the Makefile: objects built with older flags (say, before
# -fvisibility=hidden) must not end up in the .so.
$(O)/src/%.o: src/%.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

$(O)/ut/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DPG_UNITTEST -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# Every symbol the .so uses must resolve at its link (not with sanitizer
# runtimes, which some compilers leave to the executable).
SO_LDFLAGS := $(if $(SANITIZE),,-Wl,--no-undefined)

# libpagegrab.so.VERSION with soname libpagegrab.so.SOVERSION, and the
# two links next to it (the soname's, and the .so one for -lpagegrab).
$(SOLIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,$(SONAME) $(SO_LDFLAGS) $(ALL_LDFLAGS) \
		-o $@ $(LIB_OBJ) $(DEP_LIBS)
	ln -sf libpagegrab.so.$(VERSION) $(O)/$(SONAME)
	ln -sf $(SONAME) $(O)/libpagegrab.so

# pagegrab.pc is written at install time: it holds PREFIX and LIBDIR.
PC_SED := sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g'

lib: $(LIB) $(SOLIB)

$(ULIB): $(ULIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BIN): $(CMD_OBJ) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(LIB) $(DEP_LIBS)

$(O)/tests/unit/%: tests/unit/%.c $(ULIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -DPG_UNITTEST -Isrc -o $@ $< $(ULIB) \
		$(ALL_LDFLAGS) $(CMOCKA_LIBS) $(DEP_LIBS)

$(O)/tests/fuzz/%: tests/fuzz/%_fuzzer.c tests/fuzz/replay.c $(ULIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DPG_UNITTEST -Isrc -Wno-missing-prototypes \
		-o $@ $< tests/fuzz/replay.c $(ULIB) $(ALL_LDFLAGS) $(DEP_LIBS)

fuzz-replay: $(FUZZ_BIN)
	@for n in $(FUZZ_NAMES); do \
		echo "== fuzz corpus: $$n"; \
		$(O)/tests/fuzz/$$n tests/fuzz/$$n.in tests/fuzz/$$n.repro \
			|| exit 1; \
	done

FUZZ_CC ?= clang
FUZZ_FLAGS ?= -g -O1 -fsanitize=fuzzer,address,undefined
fuzz:
	@mkdir -p build/fuzz
	for n in $(FUZZ_NAMES); do \
		$(FUZZ_CC) $(FUZZ_FLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L \
			-DPG_UNITTEST -DPG_VERSION='"$(VERSION)"' -Isrc $(DEP_CFLAGS) \
			-o build/fuzz/$$n tests/fuzz/$${n}_fuzzer.c $(LIB_SRC) \
			$(DEP_LIBS) || exit 1; \
	done
	@echo "run e.g.: build/fuzz/html_links -max_total_time=60 tests/fuzz/html_links.in"

$(O)/tests/lib/%.o: tests/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests/lib -c -o $@ $<

$(TLIB): $(TLIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(O)/tests/integration/%: tests/integration/%.c $(TLIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests/lib -o $@ $< $(TLIB) \
		$(ALL_LDFLAGS) $(MHD_LIBS) $(DEP_LIBS)

$(O)/tests/%: tests/lib/prog/%.c $(TLIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests/lib -o $@ $< $(TLIB) \
		$(ALL_LDFLAGS) $(MHD_LIBS) $(DEP_LIBS)

test-progs: $(PROG_BIN)

# The test runner: every binary is run on its own; 77 means skipped.
# PG_TEST_MODES restricts the integration suites to some modes (tsan).
RUN_TESTS = tests/run-tests.sh
export PG_TEST_MODES PG_TEST_QUICK PG_TEST_PER_WORKER PG_TEST_SANITIZER

check-deps:
	@$(PKG_CONFIG) --exists $(DEPS) || { echo "missing build dependencies: run 'sh tests/install-deps.sh'" >&2; exit 1; }
	@$(PKG_CONFIG) --exists $(TEST_DEPS) || { echo "missing test dependencies: run 'sh tests/install-deps.sh'" >&2; exit 1; }

# `make test` installs what is missing first (apt-get), then starts a
# fresh make so that pkg-config sees the new packages.
deps:
	@sh tests/install-deps.sh

unit-test: check-deps $(UNIT_BIN)
	@$(RUN_TESTS) unit $(UNIT_BIN)

integration-test: check-deps $(BIN) $(IT_BIN) $(PROG_BIN)
	@PAGEGRAB_BIN=$(abspath $(BIN)) PG_BUILD_DIR=$(abspath $(O)) \
		$(RUN_TESTS) integration $(IT_BIN)

test: deps
	@$(MAKE) --no-print-directory test-run

# The integration suites run twice: blocking workers (K = 1), then every
# case again with 4 transfers per worker (the libcurl multi engine).
integration-test-multi: check-deps $(BIN) $(IT_BIN) $(PROG_BIN)
	@PAGEGRAB_BIN=$(abspath $(BIN)) PG_BUILD_DIR=$(abspath $(O)) \
		PG_TEST_PER_WORKER=4 $(RUN_TESTS) integration-multi $(IT_BIN)

# Install into a temp PREFIX and build tests/install/hello.c against it.
install-test: check-deps $(BIN) $(LIB) $(SOLIB) $(O)/tests/pg-serve
	@MAKE='$(MAKE)' O='$(O)' CC='$(CC)' PKG_CONFIG='$(PKG_CONFIG)' \
		PG_LDFLAGS='$(ALL_LDFLAGS)' sh tests/install/run.sh

test-run:
	@$(MAKE) --no-print-directory unit-test fuzz-replay integration-test \
		install-test
	@$(MAKE) --no-print-directory integration-test-multi

asan: deps
	$(MAKE) O=build/asan SANITIZE=address,undefined CFLAGS='-O1 -g' \
		PG_TEST_QUICK=1 PG_TEST_SANITIZER=address test-run

tsan: deps
	$(MAKE) O=build/tsan SANITIZE=thread CFLAGS='-O1 -g' PG_TEST_MODES=thread \
		PG_TEST_QUICK=1 PG_TEST_SANITIZER=thread integration-test

valgrind: deps
	$(MAKE) --no-print-directory $(BIN) $(PROG_BIN) $(IT_BIN)
	PAGEGRAB_BIN=$(abspath $(BIN)) PG_BUILD_DIR=$(abspath $(O)) \
		sh tests/valgrind.sh

# --- Proving it: make coverage, make torture (issue 9). ---
# COVERAGE=1 builds with gcov instrumentation; TORTURE=1 with
# -DPG_TORTURE (PG_FAIL_ALLOC=N fails pg_ allocation N; never in normal
# builds).  gcovr is installed on demand by `make coverage` only.
ifeq ($(COVERAGE),1)
BASE_CFLAGS += --coverage -fprofile-update=atomic
SAN_LDFLAGS += --coverage
endif
ifeq ($(TORTURE),1)
BASE_CFLAGS += -DPG_TORTURE
endif
.PHONY: coverage coverage-run torture

coverage: deps
	@command -v gcovr >/dev/null 2>&1 || sh tests/install-deps.sh gcovr
	@find build/cov -name '*.gcda' -delete 2>/dev/null || true
	-@$(MAKE) --no-print-directory O=build/cov COVERAGE=1 CFLAGS='-O0 -g' \
		unit-test fuzz-replay integration-test
	@$(MAKE) --no-print-directory O=build/cov coverage-run

coverage-run:
	gcovr --root . --filter 'src/' --object-directory $(O) \
		--exclude-unreachable-branches --sort-percentage \
		--print-summary --output $(O)/coverage-lines.txt
	@cat $(O)/coverage-lines.txt
	@gcovr --root . --filter 'src/' --object-directory $(O) \
		--exclude-unreachable-branches --sort-percentage --branches \
		--output $(O)/coverage-branches.txt
	@cat $(O)/coverage-branches.txt

torture: deps
	$(MAKE) --no-print-directory O=build/torture TORTURE=1 \
		SANITIZE=address,undefined CFLAGS='-O1 -g' \
		build/torture/pagegrab build/torture/tests/pg-serve
	PAGEGRAB_BIN=$(abspath build/torture/pagegrab) \
		PG_BUILD_DIR=$(abspath build/torture) sh tests/torture.sh
# --- end of Proving it ---

demo: deps
	@$(MAKE) --no-print-directory all test-progs
	@sh tests/demo.sh

BANNED := strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|strerror|\
	localtime|gmtime|system|popen|signal|rand

# Benchmarks print figures (nginx on 127.0.0.1, outputs on a tmpfs);
# they are not tests and never fail on speed.  See tests/bench/README.md.
bench: all
	sh tests/bench/run.sh

# What giving a finished body its final name costs the thread that does it:
# a named spool file and renameat2() (what pagegrab does) against
# O_TMPFILE and linkat() (tests/bench/publish.c); on /dev/shm (or
# BENCH_PUBLISH_DIR) and on the file system of the build directory.
bench-publish: $(O)/bench/publish
	$(O)/bench/publish $${BENCH_PUBLISH_DIR:-/dev/shm}
	$(O)/bench/publish $(O)/bench

$(O)/bench/publish: tests/bench/publish.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $<

# The shared (Redis) frontier: needs redis-server, no nginx.
bench-fleet: $(BIN) $(O)/tests/pg-serve
	PAGEGRAB_BIN=$(abspath $(BIN)) PG_SERVE_BIN=$(abspath $(O)/tests/pg-serve) \
		sh tests/bench/fleet.sh

lint: shape
	@if grep -nE '(^|[^_a-zA-Z0-9.>])($(BANNED))[[:space:]]*\(' \
		$(LIB_SRC) $(CMD_SRC) src/*.h cmd/*.h; then \
		echo 'lint: banned function used (see STYLE.md)'; exit 1; fi
	@echo 'lint: ok'

# The shape of the house (STYLE.md): files <= 800 lines, functions <= 100,
# no #include cycle in src/.  Part of `make lint`.
shape:
	@sh tests/lint/shape.sh

install: $(BIN) $(LIB) $(SOLIB)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/pagegrab
	install -m 0644 pagegrab.1 $(DESTDIR)$(MANDIR)/man1/pagegrab.1
	install -m 0644 config/pagegrab.conf $(DESTDIR)$(DOCDIR)/pagegrab.conf
	install -m 0644 $(LIB) $(DESTDIR)$(LIBDIR)/libpagegrab.a
	install -m 0755 $(SOLIB) $(DESTDIR)$(LIBDIR)/libpagegrab.so.$(VERSION)
	ln -sf libpagegrab.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpagegrab.so
	install -m 0644 src/pagegrab.h $(DESTDIR)$(INCLUDEDIR)/pagegrab.h
	$(PC_SED) pagegrab.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/pagegrab.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/pagegrab.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pagegrab $(DESTDIR)$(MANDIR)/man1/pagegrab.1
	rm -f $(DESTDIR)$(DOCDIR)/pagegrab.conf
	rm -f $(DESTDIR)$(LIBDIR)/libpagegrab.a $(DESTDIR)$(LIBDIR)/libpagegrab.so \
		$(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libpagegrab.so.$(VERSION)
	rm -f $(DESTDIR)$(INCLUDEDIR)/pagegrab.h $(DESTDIR)$(PKGCONFIGDIR)/pagegrab.pc
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(ULIB_OBJ:.o=.d) $(TLIB_OBJ:.o=.d)
