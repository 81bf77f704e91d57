#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel-to-kernel delivery ("redirect", the default kernel TCP path's) and
# what it keeps in the guest's namespace, with a tap0 the daemon makes (-c,
# as podman runs it) and with one made beforehand (as rootlesskit does):
# get_stats says kernel_tcp_delivery redirect; the veth end s4n-tap0 is up,
# NOARP, with the gateway's MAC, no address and IPv6 disabled; tap0 has a
# clsact qdisc with egress filters from priority 20001 on; the daemon has a
# slirp4netns-tcp process. The guest's TCP to the gateway and to an outside
# peer (IPv4, and IPv6 with -6) arrives intact, while the daemon handles
# almost none of its bytes and tc's redirect counters show them. The
# guest's UDP goes by tc too: the veth end s4u-tap0 (up, NOARP, no address,
# IPv6 off) and tap0's filters at 20121 (20122 with -6) redirecting to it,
# datagrams to the gateway and the peer intact, counted by get_stats. After
# SIGTERM the veths, the filters, our clsact and the slirp4netns-tcp process
# are gone, a made-beforehand tap0 stays, and a clsact qdisc that was there
# before stays with its filter.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

PEER=$TESTS_DIR/integration/tcp-peer.py
BYTES=$((32 << 20)) # each way, to each server
VETH=$(redirect_veth tap0)

tcp_peer_server "$WORK/server.log"
tcp_peer_server "$WORK/server6.log" ::1
peer_network
tcp_peer_server "$WORK/peer.log" 192.0.2.254 nsenter --target "$PEER_PID" --net
tcp_peer_server "$WORK/peer6.log" 2001:db8::fe nsenter --target "$PEER_PID" --net
udp_peer_server 127.0.0.1 7001
udp_peer_server 192.0.2.254 7000 nsenter --target "$PEER_PID" --net --

# transfers LABEL HOST LOG: a round_trip of BYTES with the server at HOST
# (writing LOG), and what the daemon and tc saw of it.
transfers() {
    local label=$1 host=$2 log=$3 before out_before in_before out in
    before=$(daemon_frame_bytes "$SOCK")
    out_before=$(redirected_bytes tap0 egress)
    in_before=$(redirected_bytes "$VETH" ingress)
    round_trip "$host" "$log" "$BYTES" "$label"
    assert_data_path "$SOCK" "$before" $((2 * BYTES)) "$label, $host"
    out=$(($(redirected_bytes tap0 egress) - out_before))
    in=$(($(redirected_bytes "$VETH" ingress) - in_before))
    log "$label, $host: tc redirected $out bytes out of tap0 and $in into it"
    [ "$out" -ge "$BYTES" ] || fail "$label, $host: tc redirected $out bytes from tap0 for a $BYTES-byte upload"
    [ "$in" -ge "$BYTES" ] || fail "$label, $host: tc redirected $in bytes to tap0 for a $BYTES-byte download"
}

# exercise LABEL: the checks while a daemon runs.
exercise() {
    local label=$1 listeners holder
    wait_redirect "$SOCK" tap0 "$label"
    assert_redirect_state tap0 "$label"
    KEEPER=$(tcp_keeper_pid)
    transfers "$label" 10.0.2.2 "$WORK/server.log"
    transfers "$label" 192.0.2.254 "$WORK/peer.log"
    assert_kernel_tcp "$SOCK" 4
    udp_round_trip 10.0.2.2 7001 1000 "$label, UDP"
    udp_round_trip 192.0.2.254 7000 1000 "$label, UDP"
    assert_udp_redirect_state tap0 "$label"
    assert_kernel_udp "$SOCK" 2000 1000
    # Held connections keep a listener in the private namespace.
    nsenter --target "$GUEST_PID" --net python3 "$PEER" hold 192.0.2.254 9000 3 >"$WORK/hold.out" 2>&1 &
    holder=$!
    BACKGROUND_PIDS+=($holder)
    wait_until 10 grep -q "holding 3" "$WORK/hold.out" || fail "$label: held connections: $(cat "$WORK/hold.out")"
    listeners=$(stats_field "$SOCK" kernel_tcp_listeners)
    [ "$listeners" -ge 1 ] || fail "$label: 3 connections held, yet get_stats counts $listeners listeners"
    kill "$holder"
    wait "$holder" 2>/dev/null
}

# stopped LABEL: SIGTERM; the daemon exits 0 and leaves nothing of its own.
stopped() {
    stop_slirp
    [ "$SLIRP_STATUS" = 0 ] || fail "$1: exit status $SLIRP_STATUS"
    wait_until 10 redirect_state_gone tap0 ||
        fail "$1: left behind: filters at '$(redirect_prios tap0 | paste -sd ' ')', $(in_guest ip -o link show dev "$VETH" 2>&1)"
        wait_until 10 process_gone "$KEEPER" || fail "$1: slirp4netns-tcp (pid $KEEPER) still runs after the daemon exited"
}

# podman's shape: the daemon makes and configures tap0; IPv6 too.
SOCK=$WORK/api.sock
start_guest
start_slirp -c -6 -a "$SOCK" "$GUEST_PID" tap0 || fail "-c: did not start"
exercise "-c"
wait_until 15 guest_has_ra_address || fail "-c: no usable IPv6 address in the guest"
transfers "-c" fd00::2 "$WORK/server6.log"
transfers "-c" 2001:db8::fe "$WORK/peer6.log"
stopped "-c"
in_guest ip link show dev tap0 >/dev/null 2>&1 && fail "-c: tap0 outlived the daemon"

# rootlesskit's shape: tap0 is there first, and stays.
SOCK=$WORK/api2.sock
start_guest
pre_made_tap tap0
guest_tap_config tap0
start_slirp -a "$SOCK" "$GUEST_PID" tap0 || fail "pre-made tap0: did not start"
exercise "pre-made tap0"
stopped "pre-made tap0"
in_guest ip link show dev tap0 >/dev/null 2>&1 || fail "pre-made tap0 did not stay"
expect_not "pre-made tap0: our clsact qdisc is gone" has_clsact tap0

# Someone's clsact qdisc and filter on tap0 (an experimental EtherType, so it
# never matches the guest's traffic) do not stop the redirect and stay.
SOCK=$WORK/api3.sock
start_guest
pre_made_tap tap0
guest_tap_config tap0
in_guest tc qdisc add dev tap0 clsact || fail "cannot add a clsact qdisc"
in_guest tc filter add dev tap0 egress prio 10 protocol 0x88b5 u32 match u8 0 0 flowid 1:1 ||
    fail "cannot add a filter"
start_slirp -a "$SOCK" "$GUEST_PID" tap0 || fail "theirs: did not start"
wait_redirect "$SOCK" tap0 theirs
assert_redirect_state tap0 "theirs"
KEEPER=$(tcp_keeper_pid)
before=$(daemon_frame_bytes "$SOCK")
up=$(in_guest timeout 120 python3 "$PEER" client 10.0.2.2 9000 upload "$BYTES")
[ "$up" = ok ] || fail "theirs: upload of $BYTES bytes: '$up'"
assert_data_path "$SOCK" "$before" "$BYTES" "theirs"
assert_kernel_tcp "$SOCK" 1
stopped "theirs"
expect "theirs: their clsact qdisc stays" has_clsact tap0
in_guest tc filter show dev tap0 egress | grep -q "pref 10 " ||
    fail "theirs: their filter is gone: $(in_guest tc filter show dev tap0 egress)"
pass "podman's and rootlesskit's shapes: redirect, $VETH, $(udp_veth tap0) and tap0's filters as documented, UDP by tc, $((2 * BYTES)) bytes each way past the daemon, all removed on exit; their clsact stays"
