#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Two daemons in one guest namespace, on two taps made beforehand whose names
# share their first 11 characters (container-eth0 and container-eth1), so
# that "s4n-" and the name, merely cut to 15 characters, would be one veth
# name for both: each daemon's TCP works through its own gateway, delivered
# as its get_stats says (kernel to kernel, or bridged after its one line),
# before and after the other starts and after the other stops.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

BYTES=$((4 << 20))
A=container-eth0
B=container-eth1

tcp_peer_server "$WORK/server.log"
start_guest
pre_made_tap "$A"
pre_made_tap "$B"
in_guest ip addr add 10.0.2.100/24 dev "$A"
in_guest ip route add default via 10.0.2.2 dev "$A"
in_guest ip addr add 10.0.3.100/24 dev "$B"

# works LABEL SOCKET GATEWAY: TCP through the daemon behind SOCKET, by way
# of its GATEWAY, arrives intact, taking the way its delivery says.
works() {
    local label=$1 sock=$2 gateway=$3 delivery before
    delivery=$(stats_field "$sock" kernel_tcp_delivery) || fail "$label: get_stats failed"
    before=$(daemon_frame_bytes "$sock")
    round_trip "$gateway" "$WORK/server.log" "$BYTES" "$label"
    S4N_TCP_DELIVERY=$delivery assert_data_path "$sock" "$before" $((2 * BYTES)) "$label ($delivery)"
    S4N_TCP_DELIVERY=$delivery assert_kernel_tcp "$sock" 2
}

start_slirp -a "$WORK/a.sock" "$GUEST_PID" "$A" || fail "$A: did not start"
A_PID=$SLIRP_PID
wait_redirect "$WORK/a.sock" "$A" "$A alone"
works "$A alone" "$WORK/a.sock" 10.0.2.2

start_slirp --cidr=10.0.3.0/24 -a "$WORK/b.sock" "$GUEST_PID" "$B" || fail "$B: did not start"
B_PID=$SLIRP_PID
# Its delivery is settled once a redirect is up or its line is logged.
settled() {
    [ "$(stats_field "$WORK/b.sock" kernel_tcp_delivery)" = redirect ] ||
        grep -q "kernel-to-kernel TCP delivery unavailable" "$WORK/slirp.log"
}
wait_until 10 settled || fail "$B: neither redirecting nor bridging after 10 s"
log "$B beside $A: $(stats_field "$WORK/b.sock" kernel_tcp_delivery); $(grep -v '^\*\|^Starting' "$WORK/slirp.log" | tail -n 1)"
works "$B beside $A" "$WORK/b.sock" 10.0.3.2
works "$A beside $B" "$WORK/a.sock" 10.0.2.2

stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "$B: exit status $SLIRP_STATUS"
works "$A after $B stopped" "$WORK/a.sock" 10.0.2.2
SLIRP_PID=$A_PID
stop_slirp
pass "two daemons on $A and $B in one namespace, each with its own TCP, before, beside and after the other"
