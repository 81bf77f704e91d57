#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Where kernel-to-kernel delivery cannot be had, or is not asked for. An
# ingress qdisc of someone else's on a tap0 made beforehand leaves no room
# for our clsact: the daemon logs one line ("kernel-to-kernel TCP delivery
# unavailable (...); the daemon bridges the kernel TCP path's frames"),
# get_stats says delivery bridge, the guest's TCP works with the daemon
# copying its frames, their qdisc stays and nothing of ours is made (no
# veth, no filter, no slirp4netns-tcp); with --tcp-path=redirect the same
# tap0 gets libslirp's TCP instead. --netns-type=tapfd bridges;
# --tcp-path=bridge bridges without a word and without our state;
# --tcp-path=slirp says delivery none.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

BYTES=$((8 << 20))
VETH=$(redirect_veth tap0)
BRIDGES="kernel-to-kernel TCP delivery unavailable"

tcp_peer_server "$WORK/server.log"
peer_network
peer_http_server "hello from outside"

# nothing_of_ours LABEL: no veth, no filter at our priorities, no
# slirp4netns-tcp process.
nothing_of_ours() {
    redirect_state_gone tap0 ||
        fail "$1: state of a redirect: filters at '$(redirect_prios tap0 | paste -sd ' ')', $(in_guest ip -o link show dev "$VETH" 2>&1)"
    [ -z "$(tcp_keeper_pid)" ] || fail "$1: the daemon runs a slirp4netns-tcp process"
}

# tcp_works LABEL DELIVERY: the guest's TCP to the gateway and the peer, and
# get_stats' account of it.
tcp_works() {
    local label=$1 delivery=$2 before body
    before=$(daemon_frame_bytes "$SOCK")
    round_trip 10.0.2.2 "$WORK/server.log" "$BYTES" "$label"
    body=$(in_guest curl -s -m 10 http://192.0.2.254:8080/)
    [ "$body" = "hello from outside" ] || fail "$label: the peer's page: '$body'"
    [ "$(stats_field "$SOCK" kernel_tcp_delivery)" = "$delivery" ] ||
        fail "$label: get_stats says kernel_tcp_delivery '$(stats_field "$SOCK" kernel_tcp_delivery)', not $delivery"
    if [ "$delivery" = none ]; then
        S4N_TCP_PATH=slirp assert_kernel_tcp "$SOCK"
    else
        S4N_TCP_DELIVERY=$delivery assert_kernel_tcp "$SOCK" 3
        S4N_TCP_DELIVERY=$delivery assert_data_path "$SOCK" "$before" $((2 * BYTES)) "$label"
    fi
}

# their_ingress: the ingress qdisc added before the daemon is still there.
their_ingress() { in_guest tc qdisc show dev tap0 | grep -q "^qdisc ingress ffff: "; }

# 1. Someone's ingress qdisc on a tap0 made beforehand.
SOCK=$WORK/api.sock
start_guest
pre_made_tap tap0
guest_tap_config tap0
in_guest tc qdisc add dev tap0 ingress || fail "cannot add an ingress qdisc"
start_slirp -a "$SOCK" "$GUEST_PID" tap0 || fail "ingress: did not start"
wait_until 10 grep -q "$BRIDGES" "$WORK/slirp.log" || fail "ingress: no line about the fallback"
tcp_works ingress bridge
[ "$(grep -c "$BRIDGES" "$WORK/slirp.log")" = 1 ] ||
    fail "ingress: not one line about the fallback: $(cat "$WORK/slirp.log")"
grep -Eq "$BRIDGES \(.+\); the daemon bridges the kernel TCP path's frames$" "$WORK/slirp.log" ||
    fail "ingress: the fallback line: $(grep "$BRIDGES" "$WORK/slirp.log")"
expect_not "ingress: no line about libslirp" grep -q "kernel TCP path unavailable" "$WORK/slirp.log"
log "ingress: $(grep "$BRIDGES" "$WORK/slirp.log")"
their_ingress || fail "ingress: their qdisc is gone: $(in_guest tc qdisc show dev tap0)"
nothing_of_ours ingress
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "ingress: exit status $SLIRP_STATUS"
their_ingress || fail "ingress: their qdisc is gone after the daemon's exit"

# The same tap0 and qdisc with --tcp-path=redirect: libslirp, never the bridge.
SOCK=$WORK/api-redirect.sock
start_slirp --tcp-path=redirect -a "$SOCK" "$GUEST_PID" tap0 || fail "--tcp-path=redirect: did not start"
wait_until 10 grep -q "kernel TCP path unavailable" "$WORK/slirp.log" ||
    fail "--tcp-path=redirect: no line about libslirp taking TCP"
tcp_works "--tcp-path=redirect, ingress" none
expect_not "--tcp-path=redirect: no line about bridging" grep -q "$BRIDGES" "$WORK/slirp.log"
their_ingress || fail "--tcp-path=redirect: their qdisc is gone"
nothing_of_ours "--tcp-path=redirect"
stop_slirp
their_ingress || fail "--tcp-path=redirect: their qdisc is gone after the daemon's exit"

# 2. --netns-type=tapfd: no namespace to put a veth in.
SOCK=$WORK/api-tapfd.sock
start_guest
SLIRP=$(tapfd_launcher "$GUEST_PID" tap0) start_slirp -a "$SOCK" --netns-type=tapfd ||
    fail "tapfd: did not start"
in_guest ip link set tap0 up
guest_tap_config tap0
tcp_works tapfd bridge
log "tapfd: $(grep -c "$BRIDGES" "$WORK/slirp.log") lines about the delivery"
nothing_of_ours tapfd
stop_slirp

# forced PATH DELIVERY: --tcp-path=PATH, asked for, so no line about a
# fallback, nothing of ours in the guest's namespace, and TCP carried by
# DELIVERY.
forced() {
    SOCK=$WORK/api-$1.sock
    start_guest
    start_slirp -c --tcp-path="$1" -a "$SOCK" "$GUEST_PID" tap0 || fail "--tcp-path=$1: did not start"
    tcp_works "--tcp-path=$1" "$2"
    expect_not "--tcp-path=$1: no line about a fallback" grep -q "unavailable" "$WORK/slirp.log"
    expect_not "--tcp-path=$1: no clsact qdisc on tap0" has_clsact tap0
    nothing_of_ours "--tcp-path=$1"
    stop_slirp
}
# 3. Today's delivery. 4. No kernel TCP path, so no delivery.
forced bridge bridge
forced slirp none
pass "their ingress qdisc: one line, bridge (libslirp with --tcp-path=redirect), theirs kept, nothing of ours; tapfd and --tcp-path=bridge bridge; --tcp-path=slirp none"
