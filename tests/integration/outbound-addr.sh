#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --outbound-addr / --outbound-addr6: a peer namespace behind a veth sees the
# chosen source address, given as a literal or as an interface name; so does
# a server on the host's loopback reached through the gateway, as with
# Debian's original, which binds every connection.
. "$(dirname "$0")/../lib.sh"

peer_network
peer_whoami_server 9000
whoami_server 9001

# seen_by_peer SLIRP_ARGS...: sets SEEN to the source address the peer sees
# for a TCP connection from the guest (IPv6 when the args hold -6). Not run in
# a command substitution, so that fail ends the test.
seen_by_peer() { seen_at 192.0.2.254 "[2001:db8::fe]" 9000 "$@"; }

# seen_at TARGET4 TARGET6 PORT SLIRP_ARGS...: the same for any target. With
# ORIGINAL set, Debian's original runs instead of ours.
seen_at() {
    local target=$1 target6=$2 port=$3
    shift 3
    start_guest
    if [ -n "${ORIGINAL:-}" ]; then
        S4N_TCP_PATH= SLIRP=$ORIGINAL start_slirp -c "$@" "$GUEST_PID" tap0 || fail "the original did not start with $*"
    else
        start_slirp -c -a "$WORK/api.sock" "$@" "$GUEST_PID" tap0 || fail "did not start with $*"
    fi
    if [[ " $* " == *" -6 "* ]]; then
        target=$target6
        # The RA-made address must have finished duplicate address detection.
        wait_until 15 sh -c "nsenter --target $GUEST_PID --net ip -6 addr show dev tap0 \
            scope global -tentative | grep -q fd00:" || fail "no usable IPv6 address in the guest"
    fi
    # The first IPv6 SYN can go while libslirp is still resolving the guest's
    # link-layer address: retry briefly rather than wait a fixed time.
    local try
    for try in 1 2 3 4 5 6; do
        SEEN=$(in_guest socat -T 5 -u "TCP:$target:$port" - 2>"$WORK/socat.err")
        [ -n "$SEEN" ] && break
        log "attempt $try: $(cat "$WORK/socat.err")"
        sleep 0.5
    done
    [ -n "${ORIGINAL:-}" ] || assert_kernel_tcp "$WORK/api.sock"
    stop_slirp
}

for want in 192.0.2.1 192.0.2.2; do
    seen_by_peer --outbound-addr=$want
    [ "$SEEN" = "$want" ] || fail "--outbound-addr=$want: the peer saw '$SEEN'"
done
seen_by_peer --outbound-addr=s4n-d
[ "$SEEN" = 192.0.2.3 ] || fail "--outbound-addr=s4n-d: the peer saw '$SEEN', not 192.0.2.3"

for want in 2001:db8::1 2001:db8::2; do
    seen_by_peer -6 --outbound-addr6=$want
    [ "$SEEN" = "$want" ] || fail "--outbound-addr6=$want: the peer saw '$SEEN'"
done
seen_by_peer -6 --outbound-addr6=s4n-d
[ "$SEEN" = 2001:db8::3 ] || fail "--outbound-addr6=s4n-d: the peer saw '$SEEN', not 2001:db8::3"

# The gateway stands for the host's loopback: the server there sees the
# chosen source too, as Debian's original shows it.
seen_at 10.0.2.2 "[fd00::2]" 9001 --outbound-addr=192.0.2.1
[ "$SEEN" = 192.0.2.1 ] || fail "--outbound-addr=192.0.2.1 through the gateway: the server saw '$SEEN'"
seen_at 10.0.2.2 "[fd00::2]" 9001 -6 --outbound-addr6=2001:db8::1
[ "$SEEN" = 2001:db8::1 ] || fail "--outbound-addr6=2001:db8::1 through the gateway: the server saw '$SEEN'"
if ORIGINAL=$(original_slirp4netns); then
    seen_at 10.0.2.2 "[fd00::2]" 9001 --outbound-addr=192.0.2.1
    log "Debian's original, through the gateway, with --outbound-addr=192.0.2.1: the server saw '$SEEN'"
    [ "$SEEN" = 192.0.2.1 ] || fail "the original showed '$SEEN', not 192.0.2.1: the comparison no longer holds"
    seen_at 10.0.2.2 "[fd00::2]" 9001 -6 --outbound-addr6=2001:db8::1
    log "Debian's original, through the gateway, with --outbound-addr6=2001:db8::1: the server saw '$SEEN'"
    [ "$SEEN" = 2001:db8::1 ] || fail "the original showed '$SEEN', not 2001:db8::1: the comparison no longer holds"
    ORIGINAL=
fi

err=$("$SLIRP" --outbound-addr=s4n-nope 1 tap0 2>&1)
expect "unknown interface refused" grep -q "neither an address nor an interface" <<<"$err"
pass "literal and interface-name sources seen by the peer, IPv4 and IPv6"
