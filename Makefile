# tpm-attest — device health attestation client and verifier.
#
#   make            build the library, attest_client, verifier and simulator tools
#   make test       install what is missing (Debian), build, run every test:
#                   plain, under ASan+UBSan, and under valgrind
#   make demo       install, build, run swtpm + verifier + client end to end
#   make check      build, check the sources, run the tests once (no install step)
#   make checksrc   the source check alone (scripts/checksrc)
#   make asan       the tests built and run with -fsanitize=address,undefined
#   make valgrind   the unit tests and both programs under valgrind
#   make bench      print the performance figures
#   make fuzz       libFuzzer on the fuzz targets (FUZZ_SECONDS=60 each)
#   make secureboot-ref  packaging/secureboot-ref.json rebuilt from tests/data/secureboot
#   make mutants    mutation testing of the security checks (tests/mutants/list;
#                   a clean tree; MUTANTS=NAME... for some)
#   make install    PREFIX=/usr/local DESTDIR=: the programs, units, man pages,
#                   examples and docs (what an operator runs)
#   make install-dev  headers, libtpa.a and the proto (for building on the library)
#   make man        check the man pages with groff
#   make clean

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR  ?= $(PREFIX)/share/doc/tpm-attest
SYSCONFDIR ?= /etc
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share/tpm-attest

BUILD   ?= build
CC      ?= cc
OPT     ?= -O2 -g
SAN     ?=
CFLAGS  ?=
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
           -Wno-format-nonliteral -Wswitch-enum -Wundef
ALL_CFLAGS := -std=c11 $(OPT) $(WARN) $(SAN) $(CFLAGS) -fPIC -pthread
CPPFLAGS += -D_GNU_SOURCE -Iinclude -I$(BUILD)/gen
LDLIBS  := -ltss2-esys -ltss2-tctildr -ltss2-mu -ltss2-rc -lgrpc -lgpr \
           -lprotobuf-c -lcjose -ljansson -lsqlite3 -lpq -lmicrohttpd -lgnutls -lcurl -lcrypto -lpthread
LDFLAGS ?=

GEN      := $(BUILD)/gen
PROTO    := proto/attest/v1/attest.proto
PB_C     := $(GEN)/attest/v1/attest.pb-c.c
PB_H     := $(GEN)/attest/v1/attest.pb-c.h
# The gRPC health checking protocol (grpc.health.v1), served by lib/service.c.
HEALTH_PROTO := proto/grpc/health/v1/health.proto
HEALTH_C := $(GEN)/grpc/health/v1/health.pb-c.c
HEALTH_H := $(GEN)/grpc/health/v1/health.pb-c.h

LIB_SRC  := \
            lib/err.c \
            lib/timefmt.c \
            lib/log.c \
            lib/hostinfo.c \
            lib/pcr.c \
            lib/findings.c \
            lib/tpm_decode.c \
            lib/keycache.c \
            lib/quote.c \
            lib/tpm.c \
            lib/fileio.c \
            lib/keybind.c \
            lib/rpc.c \
            lib/rpc_gate.c \
            lib/metrics.c \
            lib/pbarena.c \
            lib/token.c \
            lib/service.c \
            lib/evidence.c \
            lib/eventlog.c \
            lib/events.c \
            lib/bootstate.c \
            lib/efi.c \
            lib/identity.c \
            lib/seal.c \
            lib/boot.c \
            lib/verdict.c \
            lib/store.c \
            lib/admission.c \
            lib/devcert.c \
            lib/compliance.c \
            lib/http.c \
            lib/radius.c \
            lib/watch.c \
            lib/notify.c \
            lib/caep.c \
            lib/store_sql.c \
            lib/sqldb_sqlite.c \
            lib/sqldb_pg.c \
            lib/audit.c \
            lib/baseline_format.c \
            lib/baseline_rules.c \
            lib/baseline_author.c \
            lib/baseline_appraise.c \
            lib/authenticode.c \
            lib/sbref.c \
            lib/sbclaims.c \
            lib/config.c \
            lib/procstat.c
OBJ      := $(BUILD)/obj
LIB_OBJ  := $(LIB_SRC:%.c=$(OBJ)/%.o) $(OBJ)/gen/attest.pb-c.o $(OBJ)/gen/health.pb-c.o
LIBA     := $(BUILD)/libtpa.a

PROGS    := $(BUILD)/attest_client $(BUILD)/verifier $(BUILD)/tpa-pcr-extend \
            $(BUILD)/tpa-bootsim $(BUILD)/tpa-fleet
UNIT_TESTS := \
              $(BUILD)/tests/unit/test_quote \
              $(BUILD)/tests/unit/test_metrics \
              $(BUILD)/tests/unit/test_err \
              $(BUILD)/tests/unit/test_timefmt \
              $(BUILD)/tests/unit/test_log \
              $(BUILD)/tests/unit/test_hostinfo \
              $(BUILD)/tests/unit/test_pcr \
              $(BUILD)/tests/unit/test_findings \
              $(BUILD)/tests/unit/test_tpm_decode \
              $(BUILD)/tests/unit/test_config \
              $(BUILD)/tests/unit/test_service \
              $(BUILD)/tests/unit/test_rpc \
              $(BUILD)/tests/unit/test_eventlog \
              $(BUILD)/tests/unit/test_bootstate \
              $(BUILD)/tests/unit/test_efi \
              $(BUILD)/tests/unit/test_identity \
              $(BUILD)/tests/unit/test_identity_ecc \
              $(BUILD)/tests/unit/test_store \
              $(BUILD)/tests/unit/test_store_enforce \
              $(BUILD)/tests/unit/test_baseline \
              $(BUILD)/tests/unit/test_seal \
              $(BUILD)/tests/unit/test_audit \
              $(BUILD)/tests/unit/test_evidence \
              $(BUILD)/tests/unit/test_token \
              $(BUILD)/tests/unit/test_compliance \
              $(BUILD)/tests/unit/test_http \
              $(BUILD)/tests/unit/test_notify \
              $(BUILD)/tests/unit/test_authenticode \
              $(BUILD)/tests/unit/test_admission \
              $(BUILD)/tests/unit/test_radius \
              $(BUILD)/tests/unit/test_caep \
              $(BUILD)/tests/unit/test_devcert \
              $(BUILD)/tests/unit/test_watch \
              $(BUILD)/tests/unit/test_procstat \
              $(BUILD)/tests/unit/test_sbref \
              $(BUILD)/tests/unit/test_sbclaims
BENCH    := $(BUILD)/tests/bench/bench_quote $(BUILD)/tests/bench/bench_rpc \
            $(BUILD)/tests/bench/bench_eventlog $(BUILD)/tests/bench/bench_baseline \
            $(BUILD)/tests/bench/bench_challenge $(BUILD)/tests/bench/bench_http \
            $(BUILD)/tests/bench/bench_token $(BUILD)/tests/bench/bench_store
FUZZ_TARGETS := attest replies eventlog baseline config seal enroll appraise authenticode inventory http radius enforce pgresult sbref
FUZZ_DRIVERS := $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzz/fuzz_%)

.SECONDARY:
.PHONY: all deps demo test check checksrc asan asan-check valgrind valgrind-check bench clean \
        install install-files install-dev install-dev-files man tests seeds fuzz mutants \
        secureboot-ref
all: $(PROGS)

# ---- Debian packages (only the missing ones; idempotent) ----
deps:
	@./scripts/deps.sh

# ---- generated protobuf-c code (not committed) ----
$(PB_C) $(PB_H): $(PROTO)
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -Iproto $(PROTO)

$(HEALTH_C) $(HEALTH_H): $(HEALTH_PROTO)
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -Iproto $(HEALTH_PROTO)

$(OBJ)/gen/health.pb-c.o: $(HEALTH_C) $(HEALTH_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=c11 $(OPT) $(SAN) $(CFLAGS) -fPIC -c -o $@ $<

$(OBJ)/gen/attest.pb-c.o: $(PB_C) $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=c11 $(OPT) $(SAN) $(CFLAGS) -fPIC -c -o $@ $<

# Each object depends on the headers it includes (-MMD -MP writes them down);
# the generated protobuf header must exist before anything is compiled.
$(OBJ)/%.o: %.c | $(PB_H) $(HEALTH_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/attest_client: $(OBJ)/attest_client/main.o $(OBJ)/attest_client/agent.o \
                        $(OBJ)/attest_client/attest.o $(OBJ)/attest_client/settings.o \
                        $(OBJ)/attest_client/view.o $(LIBA)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The verifier: main.c (the command table, serve) and one file per command
# family, one a line.
VERIFIER_OBJ := \
                $(OBJ)/verifier/main.o \
                $(OBJ)/verifier/cmd.o \
                $(OBJ)/verifier/cmd_eventlog.o \
                $(OBJ)/verifier/cmd_devices.o \
                $(OBJ)/verifier/cmd_admission.o \
                $(OBJ)/verifier/cmd_baseline.o \
                $(OBJ)/verifier/cmd_keys.o \
                $(OBJ)/verifier/cmd_audit.o \
                $(OBJ)/verifier/cmd_registry.o \
                $(OBJ)/verifier/cmd_radius.o \
                $(OBJ)/verifier/cmd_sessions.o \
                $(OBJ)/verifier/cmd_sbref.o
$(BUILD)/verifier: $(VERIFIER_OBJ) $(LIBA)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lsystemd

$(BUILD)/tpa-pcr-extend: $(OBJ)/simulator/pcr_extend.o $(LIBA)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tpa-bootsim: $(OBJ)/simulator/bootsim.o $(LIBA)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tpa-fleet: $(OBJ)/simulator/fleet.o $(LIBA)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: $(OBJ)/tests/unit/%.o $(OBJ)/tests/unit/swtpm_fixture.o \
                       $(OBJ)/tests/unit/logwriter.o $(OBJ)/tests/unit/testutil.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcunit

$(BUILD)/tests/bench/%: $(OBJ)/tests/bench/%.o $(OBJ)/tests/unit/swtpm_fixture.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The /v1/authz load client speaks TLS itself (OpenSSL's libssl).
$(BUILD)/tests/bench/bench_http: LDLIBS += -lssl

# Fuzz targets with the standalone replay-and-mutate driver (no clang needed).
$(BUILD)/tests/fuzz/fuzz_%: $(OBJ)/tests/fuzz/fuzz_%.o $(OBJ)/tests/fuzz/driver.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/fuzz/mkseed: $(OBJ)/tests/fuzz/mkseed.o $(OBJ)/tests/unit/swtpm_fixture.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests: $(PROGS) $(UNIT_TESTS) $(FUZZ_DRIVERS) $(BENCH)

# Regenerates the seed corpora from a real attestation against swtpm.
seeds: $(BUILD)/tests/fuzz/mkseed
	$(BUILD)/tests/fuzz/mkseed tests/fuzz/corpora

# Coverage-guided fuzzing with libFuzzer (clang): make fuzz FUZZ_SECONDS=60
FUZZ_SECONDS ?= 60
# The Secure Boot reference bundle, rebuilt from Microsoft's published list
# and certificates (tests/data/secureboot, from microsoft/secureboot_objects;
# its SOURCES.md). test_sbref checks the committed file is what this makes.
SBREF_SOURCE := microsoft/secureboot_objects@06fe58a31d2da381fb68c6d9f30af0dfb91cbe3a PreSignedObjects (DBX/dbx_info_msft_latest.json, DB, KEK and PK certificates)
SBREF_DATE   := 2026-07-15
secureboot-ref: $(BUILD)/verifier
	$(BUILD)/verifier secureboot-ref build --list tests/data/secureboot/dbx_info_msft_latest.json \
	  --certs tests/data/secureboot/certs --source "$(SBREF_SOURCE)" --date $(SBREF_DATE) \
	  packaging/secureboot-ref.json

# Each mutant of tests/mutants/list made, built, its tests run, the file
# put back: a table and the kill ratio; a survivor fails the target. Not
# part of make test (each mutant is a rebuild).
mutants: deps
	/usr/bin/python3 tests/mutants/run.py --build=$(BUILD) $(MUTANTS)

fuzz: deps
	@command -v clang >/dev/null || apt-get install -y -qq clang libclang-rt-14-dev
	$(MAKE) BUILD=build/fuzz CC=clang OPT="-O1 -g" \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined" build/fuzz/libtpa.a
	@set -e; for t in $(FUZZ_TARGETS); do \
	  clang -std=c11 -O1 -g -D_GNU_SOURCE -Iinclude -Ibuild/fuzz/gen \
	    -fsanitize=fuzzer,address,undefined -o build/fuzz/libfuzzer_$$t \
	    tests/fuzz/fuzz_$$t.c build/fuzz/libtpa.a $(LDLIBS); \
	  mkdir -p build/fuzz/corpus_$$t; \
	  TSS2_LOG=all+none build/fuzz/libfuzzer_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    build/fuzz/corpus_$$t tests/fuzz/corpora/$$t; done

# ---- tests ----
# make test: the tests, the same tests under ASan+UBSan, and valgrind on our
# code; each part prints its own "N passed, N failed" line.
# The builds in parallel (one job a core), the tests as run.sh runs them.
NPROC := $(shell nproc 2>/dev/null || echo 2)

test: deps
	$(MAKE) -j$(NPROC) all tests
	$(MAKE) check
	$(MAKE) asan-check
	$(MAKE) valgrind-check

check: tests checksrc man
	./tests/run.sh $(BUILD)

# The source check (banned calls, layering, exports, headers alone), after
# proving on a tree made to break them that it sees each rule broken.
checksrc: $(LIBA)
	./scripts/checksrc --self-test
	./scripts/checksrc $(LIBA)

asan: deps
	$(MAKE) asan-check

asan-check:
	$(MAKE) -j$(NPROC) BUILD=build/asan OPT="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ./tests/run.sh build/asan

# valgrind on our code: every unit test (every real log in process among
# them), and both programs end to end: quotes, measured boots, enrollment,
# claims and key rotation, the agent's lifecycle, the migrated registry,
# SIGHUP reloads, the HTTP face, Prometheus scraping it (not test_nginx:
# its revoke and overdue checks are timed, as test_stale's are), continuous
# enforcement (its waits ten times longer: the watcher, RADIUS and CAEP
# deliveries, accounting), the attack suite (its floods a hundredth) and
# the registry on PostgreSQL; three at a time, the longest first (valgrind
# computes: more at once would not be sooner). Not test_audit nor
# test_fleet, the two longest under valgrind (242 and 169 s of 1991 on
# 2026-12-07): lib/audit.c has its unit suite under valgrind, their
# programs' paths are the other tests', ASan+UBSan runs them whole, and
# make test stays within its 20 minutes. The verifier runs under valgrind in
# every one of them, the clients (attest_client, and the verifier's
# subcommands that call a verifier) only in VALGRIND_CLIENTS, the tests that
# cover their paths (enrollment, attestation's options, the agent, claims,
# the command line): a client's run costs 3-5 s under valgrind, and those
# runs were 70-90 % of the others' time (tests/integration/lib.sh, VGC).
VALGRIND_CLIENTS := e2e identity claims agent cli
VALGRIND_CMD := valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --show-leak-kinds=definite,indirect --error-exitcode=99
valgrind: deps
	$(MAKE) valgrind-check

# The unit tests one a core at once (each its own temporary directory and
# swtpm); xargs fails if any does.
valgrind-check: tests
	@printf '%s\n' $(UNIT_TESTS) | TPA_SIMULATOR=$(CURDIR)/simulator/tpa-swtpm \
	  xargs -P $(NPROC) -I{} sh -c 'echo "valgrind {}"; $(VALGRIND_CMD) {} >/dev/null'
	TEST_JOBS=3 VALGRIND="$(VALGRIND_CMD)" VALGRIND_CLIENTS="$(VALGRIND_CLIENTS)" TEST_ONLY="claims identity measured_boot e2e rotation reload agent migration attacks files cli names http logs enforce registry_pg" \
	  ./tests/run.sh $(BUILD)

bench: deps
	$(MAKE) $(PROGS) $(BENCH)
	./tests/bench/run.sh $(BUILD)

demo: deps
	$(MAKE) all
	./scripts/demo.sh $(BUILD)

# ---- install ----
# make install: what an operator runs (the two programs, their systemd
# units, man pages, example configurations, docs); make install-dev: what
# a program built on the library needs (headers, libtpa.a, the proto). The
# simulators run from the tree (tests, demo) and are installed by neither.
MAN8DIR ?= $(PREFIX)/share/man/man8
MAN7DIR ?= $(PREFIX)/share/man/man7
MAN1DIR ?= $(PREFIX)/share/man/man1
MAN8 := man/verifier.8 man/attest_client.8
MAN7 := man/tpm-attest.7
MAN1 := man/tpa-fleet.1
# The real consumers' examples, each directory with its README.
EXAMPLES_NGINX := $(addprefix packaging/examples/nginx/,README.md tpm-attest-site.conf tpm-attest-grpc.conf)
EXAMPLES_PROMETHEUS := $(addprefix packaging/examples/prometheus/,README.md prometheus.yml \
	tpm-attest.rules.yml tpm-attest.rules.test.yml)
# FreeRADIUS's: installed with its subdirectories, as /etc/freeradius/3.0 has them.
EXAMPLES_FREERADIUS := README.md dictionary.tpm-attest clients.conf mods-available/eap-tls \
	mods-available/tpm-attest-rest sites-available/tpm-attest

install: all
	$(MAKE) install-files

install-dev: $(LIBA)
	$(MAKE) install-dev-files

# Install what $(BUILD) holds, building nothing (the tests use them).
install-files:
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MAN8DIR) $(DESTDIR)$(MAN7DIR) $(DESTDIR)$(MAN1DIR)
	install -m 0755 $(BUILD)/attest_client $(BUILD)/verifier $(BUILD)/tpa-fleet $(DESTDIR)$(BINDIR)/
	install -m 0644 $(MAN8) $(DESTDIR)$(MAN8DIR)/
	install -m 0644 $(MAN7) $(DESTDIR)$(MAN7DIR)/
	install -m 0644 $(MAN1) $(DESTDIR)$(MAN1DIR)/
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(SYSCONFDIR)/tpm-attest
	sed 's|/usr/local/bin|$(BINDIR)|g; s|/usr/local/share/doc/tpm-attest|$(DOCDIR)|g' \
	  packaging/systemd/attest-client.service >$(DESTDIR)$(UNITDIR)/attest-client.service
	sed 's|/usr/local/bin|$(BINDIR)|g; s|/usr/local/share/doc/tpm-attest|$(DOCDIR)|g' \
	  packaging/systemd/tpm-attest-verifier.service >$(DESTDIR)$(UNITDIR)/tpm-attest-verifier.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/attest-client.service $(DESTDIR)$(UNITDIR)/tpm-attest-verifier.service
	install -m 0644 packaging/examples/attest-client.conf packaging/examples/verifier.conf \
	  docs/examples/policy_engine.py $(DESTDIR)$(DOCDIR)/examples/
	install -d $(DESTDIR)$(DOCDIR)/examples/nginx $(DESTDIR)$(DOCDIR)/examples/prometheus
	install -m 0644 $(EXAMPLES_NGINX) $(DESTDIR)$(DOCDIR)/examples/nginx/
	install -m 0644 $(EXAMPLES_PROMETHEUS) $(DESTDIR)$(DOCDIR)/examples/prometheus/
	for f in $(EXAMPLES_FREERADIUS); do \
	  install -D -m 0644 packaging/examples/freeradius/$$f $(DESTDIR)$(DOCDIR)/examples/freeradius/$$f; done
	install -m 0644 README.md docs/baseline.md docs/claims.md docs/audit.md docs/logs.md docs/metrics.md \
	  docs/enforcement.md docs/baseline.schema.json \
	  $(DESTDIR)$(DOCDIR)/
	for f in attest-client.conf verifier.conf; do \
	  install -m 0644 packaging/examples/$$f $(DESTDIR)$(SYSCONFDIR)/tpm-attest/$$f.example; done
	install -d $(DESTDIR)$(DATADIR)
	install -m 0644 packaging/secureboot-ref.json $(DESTDIR)$(DATADIR)/

install-dev-files:
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR)/tpa $(DESTDIR)$(DATADIR)/proto/attest/v1
	install -m 0644 $(LIBA) $(DESTDIR)$(LIBDIR)/
	install -m 0644 include/tpa/*.h $(DESTDIR)$(INCDIR)/tpa/
	install -m 0644 $(PROTO) $(DESTDIR)$(DATADIR)/proto/attest/v1/

# The man pages, checked by groff: a macro or escape it does not know, a
# line it cannot fill, any warning fails.
man:
	@set -e; for p in $(MAN8) $(MAN7) $(MAN1); do \
	  out=$$(groff -man -ww -z $$p 2>&1); \
	  if [ -n "$$out" ]; then echo "$$p:"; echo "$$out"; exit 1; fi; \
	  echo "man: $$p ok"; done

clean:
	rm -rf build
