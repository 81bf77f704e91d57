#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/check.sh: what `make check` runs once both builds exist. The whole
# suite runs twice: against the normal build, then against the
# AddressSanitizer + UndefinedBehaviorSanitizer build (tests/lib.sh fails a
# test whose daemon produced any sanitizer report). It prints each pass's
# summary, then the combined "N passed, N failed" as the last line.
#   tests/check.sh [all|normal|asan]
set -u
cd "$(dirname "$0")/.."
which=${1:-all}

# Sanitizers report into per-test files that tests/lib.sh turns into failures.
sanitizer_env=(
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    S4N_SANITIZED=1
    SLIRP="$PWD/slirp4netns-asan"
    BUILDDIR=.build-asan
    # fuzz-smoke builds and runs its own sanitized fuzzers already.
    TEST_EXCLUDE=fuzz-smoke
)

total_passed=0 total_failed=0 total_skipped=0
run_pass() {
    local name=$1 log summary p f s
    shift
    log=$(mktemp)
    echo "=== $name pass ==="
    env "$@" bash tests/run.sh | tee "$log"
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    rm -f "$log"
    [ -n "$summary" ] || summary="0 passed, 1 failed"
    p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$summary")
    f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$summary")
    s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$summary")
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    total_skipped=$((total_skipped + ${s:-0}))
    echo "$name pass: $summary"
}

case $which in
    all | normal) run_pass normal ;;
esac
case $which in
    all | asan) run_pass asan "${sanitizer_env[@]}" ;;
esac

summary="$total_passed passed, $total_failed failed"
[ "$total_skipped" -gt 0 ] && summary="$summary, $total_skipped skipped"
echo "$summary"
[ "$total_failed" -eq 0 ]
