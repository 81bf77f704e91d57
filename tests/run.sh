#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/run.sh: runs every unit test binary and every integration test, then
# prints one summary line "N passed, N failed" (", N skipped" when any were).
# Integration tests exit 0 (pass), 77 (skip: a client that cannot run here,
# with the reason printed) or anything else (fail). Each runs under
# tests/leftovers.py: one that leaves a process running fails.
set -u
cd "$(dirname "$0")/.."

BUILDDIR=${BUILDDIR:-.build}
TIMEOUT=${TEST_TIMEOUT:-300}
FILTER=${1:-}
# TEST_EXCLUDE: space-separated names of integration tests to leave out
# (NAME leaves out its [slirp] and [bridge] runs too, NAME[slirp] only that).
EXCLUDE=" ${TEST_EXCLUDE:-} "
# Guest TCP takes the kernel TCP path by default; libslirp's TCP
# (--tcp-path=slirp) stays supported, so these tests run a second time with
# S4N_TCP_PATH=slirp (tests/lib.sh's start_slirp passes it on, and
# assert_kernel_tcp then asserts libslirp carried everything), reported as
# NAME[slirp]. Unless the whole run is already S4N_TCP_PATH=slirp.
SLIRP_TCP_TESTS=${SLIRP_TCP_TESTS:-host-loopback ipv6 outbound-addr custom-cidr splice-tcp api-forward sandbox-functional fault-host-resets k3s-ipv6-prefix pcap kernel-udp}
[ "${S4N_TCP_PATH:-}" = slirp ] && SLIRP_TCP_TESTS=
# The kernel TCP path's segments go kernel to kernel by default; the daemon
# still bridges them where that cannot be had (--netns-type=tapfd, BESS,
# tc refused), so these run a third time with S4N_TCP_PATH=bridge
# (assert_kernel_tcp then wants delivery bridge), reported as NAME[bridge].
# Unless the whole run already forces a path.
BRIDGE_TCP_TESTS=${BRIDGE_TCP_TESTS:-kernel-tcp kernel-tcp-bulk host-loopback ipv6 outbound-addr splice-tcp sandbox-functional fault-host-resets sandbox-rootless pcap}
[ -n "${S4N_TCP_PATH:-}" ] && BRIDGE_TCP_TESTS=
passed=0 failed=0 skipped=0
failures=()
logdir=$(mktemp -d /tmp/s4n-logs.XXXXXX)

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)".
for t in "$BUILDDIR"/tests/test_*; do
    [ -x "$t" ] || continue
    [ -n "$FILTER" ] && [[ $t != *$FILTER* ]] && continue
    out=$("$t" 2>&1)
    status=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -n1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' <<<"$out" | tail -n1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ "$status" != 0 ] || [ -z "$p" ]; then
        [ -z "$f" ] && failed=$((failed + 1))
        failures+=("$(basename "$t")")
        echo "$out" | grep -E "FAILED|ERROR|Failure" | head -n 20
    fi
    echo "unit $(basename "$t"): ${p:-0} passed, ${f:-0} failed"
done

# run_integration NAME FILE [ENV=VALUE...]: one run of one test, counted.
run_integration() {
    local name=$1 t=$2 start status took
    shift 2
    start=$SECONDS
    env "$@" timeout --kill-after=10 "$TIMEOUT" python3 tests/leftovers.py "$t" \
        >"$logdir/$name.log" 2>&1 </dev/null
    status=$?
    took=$((SECONDS - start))
    case $status in
        0) passed=$((passed + 1)); echo "ok   $name (${took}s)" ;;
        77) skipped=$((skipped + 1)); echo "skip $name: $(grep -m1 '^SKIP' "$logdir/$name.log")" ;;
        *)
            failed=$((failed + 1))
            failures+=("$name")
            echo "FAIL $name (status $status, ${took}s)"
            sed 's/^/    /' "$logdir/$name.log" | tail -n 40
            ;;
    esac
}

for t in tests/integration/*.sh; do
    [ -n "$FILTER" ] && [[ $t != *$FILTER* ]] && continue
    name=$(basename "$t" .sh)
    [[ $EXCLUDE == *" $name "* ]] && continue
    run_integration "$name" "$t"
    for path in slirp bridge; do
        list=SLIRP_TCP_TESTS
        [ $path = bridge ] && list=BRIDGE_TCP_TESTS
        [[ " ${!list} " == *" $name "* ]] || continue
        [[ $EXCLUDE == *" $name[$path] "* ]] && continue
        run_integration "$name[$path]" "$t" S4N_TCP_PATH=$path
    done
done

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
rm -rf "$logdir"
summary="$passed passed, $failed failed"
[ $skipped -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ $failed -eq 0 ]
