#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the libFuzzer targets (tests/fuzz), replays their corpus (seeds and
# every crash reproducer found so far), fuzzes each for a few seconds, and
# checks the daemon itself against the reproducers that concern its binary.
. "$(dirname "$0")/../lib.sh"

command -v clang++ >/dev/null || skip "clang++ is not installed (make deps installs clang)"
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
    skip "libFuzzer runtime missing (make deps installs libclang-rt-dev)"

if ! make -s -C "$REPO" fuzz-build >"$WORK/build.log" 2>&1; then
    tail -n 20 "$WORK/build.log"
    fail "make fuzz-build failed"
fi
FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-4} bash "$REPO/tests/fuzz/run.sh" "$REPO/.build-fuzz/fuzz" \
    >"$WORK/fuzz.log" 2>&1
status=$?
cat "$WORK/fuzz.log"
[ $status = 0 ] || fail "a fuzz target crashed or broke an invariant"

# crash-newline-in-error: an option word holding a newline once gave a
# two-line error; the binary must print one line and exit 1.
mapfile -d '' args <"$REPO/tests/fuzz/corpus/options/crash-newline-in-error"
"$SLIRP" "${args[@]}" >/dev/null 2>"$WORK/err"
status=$?
[ $status = 1 ] || fail "exit status $status for a bad option, want 1"
[ "$(wc -l <"$WORK/err")" = 1 ] || fail "error is not one line: $(cat -A "$WORK/err")"
pass "corpus replayed, $(grep -c '^== .*fuzzing' "$WORK/fuzz.log") targets fuzzed, reproducers hold"
