#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Start-up does not wait for the kernel TCP path's namespace: it is made
# after ready-fd. A guest that connects the moment its tap is configured
# has its SYN held until the path is ready: not lost (the guest's kernel
# retransmits no SYN) and not handed to libslirp (the connection agrees
# window scaling, which libslirp never offers). Where the namespace then
# cannot be made, the held SYN goes to libslirp, again without a
# retransmission, and libslirp serves the connection (no options agreed).
# The guest's connect starts before the daemon does, with a static
# neighbour for the gateway, so that its SYN waits in the tap for the
# daemon's first read, before the private namespace exists. Sandboxed and
# seccomp'd: the path comes up under the confinement it always meets now.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

PEER=$TESTS_DIR/integration/tcp-peer.py
http_server 8000

# early_connect LABEL: starts the guest's early client, then the daemon;
# sets RESULT to the client's line.
early_connect() {
    local label=$1 early
    rm -f "$WORK/early.out"
    in_guest timeout 60 python3 "$PEER" early 10.0.2.2 8000 tap0 52:55:0a:00:02:02 \
        >"$WORK/early.out" 2>&1 &
    early=$!
    wait_until 30 grep -q waiting "$WORK/early.out" || fail "$label: the guest's client did not start"
    start_slirp -c --enable-sandbox --enable-seccomp -a "$WORK/api.sock" "$GUEST_PID" tap0 ||
        fail "$label: did not start"
    wait $early || fail "$label: the guest's early connect failed: $(cat "$WORK/early.out")"
    RESULT=$(sed 1d "$WORK/early.out")
    log "$label: guest: $RESULT"
    [[ "$RESULT" == *" syn-retransmits=0" ]] || fail "$label: the guest retransmitted its SYN: '$RESULT'"
}

start_guest
early_connect "kernel path"
[[ " $RESULT " == *" wscale "* ]] || fail "the early connection agreed '$RESULT': not the kernel path's"
assert_kernel_tcp "$WORK/api.sock" 1
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through 10.0.2.2 afterwards returned '$body'"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
kill "$GUEST_PID"

limited_guest
early_connect "fallback"
[[ "$RESULT" == "none "* ]] || fail "the early connection agreed '$RESULT', not libslirp's none"
wait_until 10 grep -q "kernel TCP path unavailable" "$WORK/slirp.log" || fail "no fallback line"
[ "$(stats_field "$WORK/api.sock" tcp_path)" = slirp ] || fail "get_stats does not say tcp_path slirp"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "fallback: exit status $SLIRP_STATUS"
pass "a SYN sent before ready-fd waits for the kernel path and is served by it, or by libslirp when the path fails"
