#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Connects that fail: with --tcp-path=kernel the guest sees what Debian's
# slirp4netns (libslirp's TCP) shows it in the same situation: a closed port
# on the host's loopback, loopback under --disable-host-loopback, no route,
# a peer that refuses,
# an address nobody answers on a link, and SYNs that vanish. Also the
# outside peer sees --outbound-addr as the source. (The fallback to
# libslirp is kernel-tcp-fallback.sh.)
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

DEBIAN=$(original_slirp4netns) || skip "no original slirp4netns to compare with"
PEER=$TESTS_DIR/integration/tcp-peer.py

peer_network
peer_whoami_server 9000
# 203.0.113.0/24 goes to the peer, which discards it without a word.
ip route add 203.0.113.0/24 via 192.0.2.254
in_peer ip route add blackhole 203.0.113.0/24

# outcome DAEMON ARGS -- HOST PORT: what a guest connect ends with.
outcome() {
    local daemon=$1
    shift
    local args=()
    while [ "$1" != -- ]; do
        args+=("$1")
        shift
    done
    shift
    start_guest
    SLIRP=$daemon start_slirp -c "${args[@]}" "$GUEST_PID" tap0 || fail "$daemon did not start"
    OUTCOME=$(in_guest timeout 60 python3 "$PEER" connect "$1" "$2" 8)
    [ "$daemon" = "$SLIRP" ] && DELIVERY=$(stats_field "$WORK/api.sock" kernel_tcp_delivery)
    stop_slirp
}

# same ARGS -- HOST PORT: ours with the kernel path must match Debian's.
same() {
    outcome "$DEBIAN" "$@"
    local theirs=$OUTCOME
    outcome "$SLIRP" --tcp-path=kernel -a "$WORK/api.sock" "$@"
    [ "$OUTCOME" = "$theirs" ] || fail "connect $*: Debian's slirp4netns shows '$theirs', ours '$OUTCOME'"
    [ "$DELIVERY" = "$(expected_delivery)" ] || fail "connect $*: kernel_tcp_delivery '$DELIVERY', not $(expected_delivery)"
    log "connect $*: $OUTCOME"
    SEEN+="$OUTCOME; "
}

SEEN=""
same -- 10.0.2.2 9    # nothing listens on the host's 127.0.0.1:9
same --disable-host-loopback -- 10.0.2.2 9000
same -- 198.51.100.1 80  # no route on the host side
same -- 192.0.2.77 80    # on the peer's link, nobody answers ARP
same -- 203.0.113.5 80   # discarded silently
same -- 192.0.2.254 9001 # the peer refuses (after the connect started)
same -- 192.0.2.254 9000 # a working one, for contrast

# --outbound-addr binds the host socket of kernel-path connections.
start_guest
start_slirp -c --tcp-path=kernel --outbound-addr=192.0.2.2 -a "$WORK/api.sock" "$GUEST_PID" tap0 ||
    fail "did not start with --outbound-addr"
seen=$(in_guest socat -T 5 -u TCP:192.0.2.254:9000 - 2>&1)
[ "$seen" = 192.0.2.2 ] || fail "--outbound-addr=192.0.2.2: the peer saw '$seen'"
assert_kernel_tcp "$WORK/api.sock" 1
stop_slirp

pass "same as Debian's slirp4netns: $SEEN--outbound-addr seen by the peer"
