#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The guest changes tap0's MAC address while a redirecting daemon runs: once
# while connections are established (idle ones, and one carrying data, which
# goes on carrying it intact both ways after the change), once with no
# connection open. After each, new connections to the gateway and to an
# outside peer carry data intact both ways, kernel to kernel.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

PEER=$TESTS_DIR/integration/tcp-peer.py
BYTES=$((4 << 20))
SOCK=$WORK/api.sock

tcp_peer_server "$WORK/server.log"
peer_network
tcp_peer_server "$WORK/peer.log" 192.0.2.254 nsenter --target "$PEER_PID" --net
start_guest
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
wait_redirect "$SOCK" tap0 start

# new_mac MAC LABEL: tap0 takes MAC, as the guest asks; fails unless it did.
new_mac() {
    in_guest ip link set dev tap0 address "$1" || fail "$2: cannot set tap0's address to $1"
    in_guest ip -o link show dev tap0 | grep -q "link/ether $1 " ||
        fail "$2: tap0's address is not $1: $(in_guest ip -o link show dev tap0)"
}

round_trips_past "$SOCK" "$BYTES" "before any change"

# Connections established before the change: three idle ones, and one
# carrying data both ways, half before the change and half after.
nsenter --target "$GUEST_PID" --net python3 "$PEER" hold 192.0.2.254 9000 3 >"$WORK/hold.out" 2>&1 &
holder=$!
BACKGROUND_PIDS+=($holder)
wait_until 10 grep -q "holding 3" "$WORK/hold.out" || fail "held connections: $(cat "$WORK/hold.out")"
nsenter --target "$GUEST_PID" --net python3 "$PEER" gated 10.0.2.2 9000 "$BYTES" "$WORK/gate" \
    >"$WORK/gated.out" 2>&1 &
gated=$!
BACKGROUND_PIDS+=($gated)
wait_until 30 grep -q halfway "$WORK/gated.out" || fail "the first half did not come back: $(cat "$WORK/gated.out")"
new_mac 02:00:5e:10:00:01 "established"
touch "$WORK/gate"
round_trips_past "$SOCK" "$BYTES" "after a change with connections open"
kill -0 "$holder" 2>/dev/null || fail "the held connections' client ended: $(cat "$WORK/hold.out")"
kill "$holder"
wait "$holder" 2>/dev/null
# Unlike a LAN, where the peers' neighbour caches keep the old address for a
# while, no frame goes to the old address: the open connection goes on.
wait "$gated"
[ "$(tail -n 1 "$WORK/gated.out")" = ok ] ||
    fail "the connection carrying data across the change: '$(cat "$WORK/gated.out")'"

# No connection open.
new_mac 02:00:5e:10:00:02 "idle"
round_trips_past "$SOCK" "$BYTES" "after a change with no connection open"
assert_kernel_tcp "$SOCK" 9
stop_slirp
pass "tap0's MAC changed with connections open and with none: the open one and new ones work, past the daemon"
