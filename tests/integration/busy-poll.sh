#!/bin/bash
# Busy polling (--busy-poll, on by default): after request/response traffic
# the daemon polls without sleeping for a while (event_loop.cpp), and
# --busy-poll=0 turns that off. A TCP ping-pong through 10.0.2.2 works in
# both modes; strace shows the spinning polls (timeout 0, nothing ready)
# during the ping-pong with it on, and none beyond the odd due timer with it
# off. How much it saves is a performance figure: bench/busy-poll.sh.
. "$(dirname "$0")/../lib.sh"
command -v sockperf >/dev/null || skip "sockperf is missing (tests/install-deps.sh installs it)"
command -v strace >/dev/null || skip "strace is missing (tests/install-deps.sh installs it)"

background sockperf server --tcp -i 127.0.0.1 -p 11111 >/dev/null 2>&1
wait_until 10 port_is_listening 11111 || fail "sockperf server did not start"

# spins FLAGS...: a 1 s ping-pong under a daemon started with FLAGS; sets
# SPINS to the number of polls it made with timeout 0 that found nothing.
spins() {
    start_guest
    start_slirp -c "$@" "$GUEST_PID" tap0 || fail "did not start ($*)"
    strace -q -e trace=poll -p "$SLIRP_PID" -o "$WORK/strace" &
    local tracer=$!
    # Attached once the daemon shows a tracer (no output comes while idle).
    wait_until 10 grep -q "^TracerPid:[[:space:]]*[1-9]" "/proc/$SLIRP_PID/status" ||
        fail "strace did not attach"
    local out
    out=$(in_guest sockperf ping-pong --tcp -i 10.0.2.2 -p 11111 -t 1 --msg-size 64 2>&1)
    kill "$tracer" 2>/dev/null
    wait "$tracer" 2>/dev/null
    grep -q "percentile 50.000" <<<"$out" || fail "the ping-pong failed ($*): $(tail -n 3 <<<"$out")"
    SPINS=$(grep -c ', 0) *= 0 (Timeout)' "$WORK/strace")
    stop_slirp
    [ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS ($*)"
}

spins && on=$SPINS
spins --busy-poll=0 && off=$SPINS
log "spinning polls during a 1 s ping-pong: $on with busy polling, $off with --busy-poll=0"
# Counts of events, not times: a spin is at least one empty poll per
# round trip (thousands a second); without it, only a timer due at that
# very moment polls with timeout 0.
[ "$on" -gt 100 ] || fail "with busy polling the daemon never spun ($on empty polls)"
[ "$off" -lt $((on / 10)) ] || fail "--busy-poll=0 still spun: $off empty polls (vs $on)"
pass "ping-pong works both ways; $on spinning polls with busy polling, $off with --busy-poll=0"
