# SPDX-License-Identifier: GPL-2.0-or-later
# Makefile: builds ./slirp4netns and drives tests, demo, bench, packaging
# and install. `make` installs the missing build packages (tests/install-deps.sh)
# and configures (autoconf) on first use, so a fresh clone needs only `make`;
# `make deps` installs the Debian packages every target needs.

# Goals that only drive other makes, or build nothing themselves, neither
# read config.mk (that would configure before they install what configuring
# needs) nor touch the default build's flag stamps.
DRIVER_GOALS := deps demo check check-asan asan-build check-valgrind check-fresh bench \
	fuzz fuzz-build soak dist deb clean distclean format
BUILDS := $(filter-out $(DRIVER_GOALS),$(or $(MAKECMDGOALS),all))
ifneq ($(BUILDS),)
-include config.mk
endif

PREFIX ?= $(if $(prefix),$(prefix),/usr/local)
DESTDIR ?=
BUILDDIR ?= .build
SANITIZE ?=

# The version lives in VERSION (configure.ac reads it too). A `make dist`
# tarball carries its commit in COMMIT, since it has no git history.
VERSION := $(file <VERSION)
COMMIT := $(or $(file <COMMIT),$(shell git rev-parse --verify -q HEAD 2>/dev/null),unknown)

# CPPFLAGS, CXXFLAGS and LDFLAGS come from the environment or ./configure
# (a distribution's hardening flags reach every compile and link). -Werror
# only where we control the compiler: make check, the test variants and CI
# set WERROR=-Werror; a plain `make` with a newer compiler only warns.
CXXFLAGS ?= -O2 -g
WERROR ?=
WARNINGS := -Wall -Wextra $(WERROR)
CXXFLAGS_ALL := -std=c++20 $(WARNINGS) $(SANITIZE) $(PKG_CFLAGS) \
	-DSLIRP4NETNS_VERSION='"$(VERSION)"' $(CPPFLAGS) $(CXXFLAGS)
# libstdc++ linked in (only what we use; not under sanitizers, whose runtimes
# replace its allocator): measured 0.75 MiB less idle RSS than mapping the
# whole shared library.
LDFLAGS_ALL := $(SANITIZE) $(if $(SANITIZE),,-static-libstdc++ -static-libgcc) \
	-Wl,-O1,--as-needed,-z,relro,-z,now $(LDFLAGS)

# Objects depend on stamps holding the flags and the commit, so a variant
# built again with other flags (SANITIZE=...) or a new commit is rebuilt.
FLAGS_STAMP := $(BUILDDIR)/.flags
COMMIT_STAMP := $(BUILDDIR)/.commit
ifneq ($(BUILDS),)
$(shell mkdir -p $(BUILDDIR))
ifneq ($(file <$(FLAGS_STAMP)),$(strip $(CXXFLAGS_ALL) $(LDFLAGS_ALL)))
$(file >$(FLAGS_STAMP),$(strip $(CXXFLAGS_ALL) $(LDFLAGS_ALL)))
endif
ifneq ($(file <$(COMMIT_STAMP)),$(COMMIT))
$(file >$(COMMIT_STAMP),$(COMMIT))
endif
endif

# Everything but main(): unit tests and fuzzers link these too.
CORE_SOURCES := error.cpp frame_ring.cpp options.cpp network.cpp namespaces.cpp tap.cpp interface.cpp fd_passing.cpp \
	event_loop.cpp outbound.cpp unix_socket.cpp bess.cpp api.cpp api_request.cpp sandbox.cpp seccomp.cpp confine.cpp child_process.cpp \
	netns_helper.cpp rtnetlink.cpp transparent_routing.cpp transparent_socket.cpp \
	splice_relay.cpp splice_forward.cpp udp_flows.cpp checksum.cpp vnet.cpp ipv4_reassembly.cpp urgent_data_fence.cpp fin_wait2_fence.cpp \
	slirp_stack.cpp packet_path.cpp daemon.cpp files.cpp memory_return.cpp \
	tcp_classifier.cpp private_netns.cpp tc_redirect.cpp redirect_keeper.cpp kernel_tcp.cpp packet_capture.cpp \
	resolv_conf.cpp dns_wire.cpp dns_forwarder.cpp kernel_udp.cpp
CORE_OBJECTS := $(CORE_SOURCES:%.cpp=$(BUILDDIR)/%.o)
# The daemon's own: main() and its operator new/delete (allocation.cpp), which
# test harnesses such as libFuzzer must not inherit.
MAIN_OBJECTS := $(BUILDDIR)/slirp4netns.o $(BUILDDIR)/allocation.o
PROGRAM ?= slirp4netns

UNIT_TESTS := $(patsubst tests/unit/%.cpp,$(BUILDDIR)/tests/%,$(wildcard tests/unit/test_*.cpp))

.PHONY: all deps check unit integration demo bench install clean distclean format \
	check-fresh dist deb

all: $(PROGRAM)

# A fresh clone has neither configure nor the packages it checks for: both
# rules install what is missing first (a no-op once everything is there).
configure: configure.ac VERSION
	@bash tests/install-deps.sh build
	autoreconf -fi

config.mk: configure config.mk.in
	@bash tests/install-deps.sh build
	./configure

$(PROGRAM): $(CORE_OBJECTS) $(MAIN_OBJECTS)
	$(CXX) $(CXXFLAGS) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BUILDDIR)/%.o: %.cpp config.mk $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILDDIR)/slirp4netns.o: slirp4netns.cpp config.mk $(FLAGS_STAMP) $(COMMIT_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_ALL) -DSLIRP4NETNS_COMMIT='"$(COMMIT)"' -MMD -MP -c -o $@ $<

$(BUILDDIR)/tests/%: tests/unit/%.cpp tests/unit/cmocka.hpp $(CORE_OBJECTS) config.mk $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_ALL) -I. $(CMOCKA_CFLAGS) -o $@ $< $(CORE_OBJECTS) $(PKG_LIBS) $(CMOCKA_LIBS) $(LDFLAGS_ALL)

-include $(CORE_OBJECTS:.o=.d) $(MAIN_OBJECTS:.o=.d)

deps:
	bash tests/install-deps.sh all

unit: $(UNIT_TESTS)

# check: installs what is missing, builds the normal and the sanitizer
# variants, runs unit and integration tests against both, and ends with one
# line "N passed, N failed".
check:
	bash tests/install-deps.sh test
	$(MAKE) WERROR=-Werror all unit
	$(MAKE) asan-build
	bash tests/check.sh all

# demo: installs only what building and the demo need, so a newcomer's first
# command is quick; `make check` installs the rest.
demo:
	bash tests/install-deps.sh demo
	$(MAKE) all
	bash tests/demo.sh

bench: deps
	$(MAKE) all
	bash bench/run.sh

# check-fresh: `make demo` as a newcomer runs it, in a minimal Debian root
# with only make and git added, then the .deb of `make deb` installed there.
check-fresh:
	bash tests/install-deps.sh fresh
	bash tests/fresh-root.sh

# dist: a tarball of HEAD that builds without git or autoconf (configure is
# generated, the commit is in COMMIT, debian/changelog names the version).
DIST_NAME := slirp4netns-$(VERSION)
DIST_DIR := $(BUILDDIR)/dist/$(DIST_NAME)
dist:
	@git rev-parse --verify -q HEAD >/dev/null || { echo "make dist needs a git checkout" >&2; exit 1; }
	bash tests/install-deps.sh build
	rm -rf $(BUILDDIR)/dist && mkdir -p $(BUILDDIR)/dist
	git archive --prefix=$(DIST_NAME)/ HEAD | tar -x -C $(BUILDDIR)/dist
	cd $(DIST_DIR) && autoreconf -fi && rm -rf autom4te.cache
	echo $(COMMIT) >$(DIST_DIR)/COMMIT
	bash debian/write-changelog $(VERSION) $(COMMIT) >$(DIST_DIR)/debian/changelog
	tar -C $(BUILDDIR)/dist --sort=name --owner=0 --group=0 --numeric-owner \
		-czf $(DIST_NAME).tar.gz $(DIST_NAME)
	@echo "wrote $(DIST_NAME).tar.gz"

# deb: slirp4netns_VERSION_ARCH.deb, built by debhelper from the dist
# tarball (so a developer's tree is never cleaned by the package build).
deb: dist
	bash tests/install-deps.sh deb
	rm -rf $(BUILDDIR)/deb && mkdir -p $(BUILDDIR)/deb
	tar -xzf $(DIST_NAME).tar.gz -C $(BUILDDIR)/deb
	cd $(BUILDDIR)/deb/$(DIST_NAME) && dpkg-buildpackage -b -us -uc -Jauto
	mv $(BUILDDIR)/deb/slirp4netns_$(VERSION)_*.deb .
	@ls slirp4netns_$(VERSION)_*.deb

install: $(PROGRAM)
	install -D -m 0755 $(PROGRAM) $(DESTDIR)$(PREFIX)/bin/slirp4netns
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	sed '/^\.TH /s/"slirp4netns"/"slirp4netns $(VERSION)"/' man/slirp4netns.1 \
		>$(DESTDIR)$(PREFIX)/share/man/man1/slirp4netns.1
	chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man1/slirp4netns.1

format:
	clang-format -i *.cpp *.hpp tests/unit/*.cpp

clean:
	rm -rf $(BUILDDIR) slirp4netns

distclean: clean
	rm -rf config.mk config.log config.status configure configure~ autom4te.cache aclocal.m4

# --- Reliability: sanitizers, fuzzing, valgrind, soak -----------------------
# Each builds its own variant (BUILDDIR/PROGRAM) so it never disturbs `all`.
# No vptr check: UBSan probes memory for it through a pipe, which fails (and
# reports falsely) exactly when the fd-limit tests have used every descriptor.
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CXX ?= clang++
FUZZ_BUILDDIR := .build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.cpp,%,$(wildcard tests/fuzz/fuzz_*.cpp))
SOAK_SECONDS ?= 600

.PHONY: check-asan asan-build check-valgrind fuzz fuzz-build fuzz-targets soak

check-asan:
	bash tests/install-deps.sh test
	$(MAKE) asan-build
	bash tests/check.sh asan

asan-build:
	$(MAKE) BUILDDIR=.build-asan PROGRAM=slirp4netns-asan SANITIZE="$(ASAN_FLAGS)" WERROR=-Werror all unit

check-valgrind:
	bash tests/install-deps.sh test
	$(MAKE) BUILDDIR=.build-valgrind PROGRAM=slirp4netns-valgrind WERROR=-Werror all
	bash tests/valgrind.sh $(CURDIR)/slirp4netns-valgrind

fuzz-build:
	$(MAKE) CXX=$(FUZZ_CXX) BUILDDIR=$(FUZZ_BUILDDIR) SANITIZE="$(ASAN_FLAGS) -fsanitize=fuzzer-no-link" \
		WERROR=-Werror fuzz-targets

fuzz-targets: $(FUZZ_TARGETS:%=$(BUILDDIR)/fuzz/fuzz_%)

$(BUILDDIR)/fuzz/fuzz_%: tests/fuzz/fuzz_%.cpp $(CORE_OBJECTS) config.mk
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_ALL) -I. -fsanitize=fuzzer -o $@ $< $(CORE_OBJECTS) $(PKG_LIBS) $(LDFLAGS_ALL)

fuzz:
	bash tests/install-deps.sh test
	$(MAKE) fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_BUILDDIR)/fuzz

soak:
	bash tests/install-deps.sh test
	$(MAKE) all
	SOAK_SECONDS=$(SOAK_SECONDS) SLIRP=$(CURDIR)/$(PROGRAM) bash tests/soak.sh
