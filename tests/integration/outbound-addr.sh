#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --outbound-addr / --outbound-addr6: a peer namespace behind a veth sees the
# chosen source address, given as a literal or as an interface name.
. "$(dirname "$0")/../lib.sh"

peer_network
peer_whoami_server 9000

# seen_by_peer SLIRP_ARGS...: sets SEEN to the source address the peer sees
# for a TCP connection from the guest (IPv6 when the args hold -6). Not run in
# a command substitution, so that fail ends the test.
seen_by_peer() {
    start_guest
    start_slirp -c -a "$WORK/api.sock" "$@" "$GUEST_PID" tap0 || fail "did not start with $*"
    local target=192.0.2.254
    if [[ " $* " == *" -6 "* ]]; then
        target=[2001:db8::fe]
        # The RA-made address must have finished duplicate address detection.
        wait_until 15 sh -c "nsenter --target $GUEST_PID --net ip -6 addr show dev tap0 \
            scope global -tentative | grep -q fd00:" || fail "no usable IPv6 address in the guest"
    fi
    # The first IPv6 SYN can go while libslirp is still resolving the guest's
    # link-layer address: retry briefly rather than wait a fixed time.
    local try
    for try in 1 2 3 4 5 6; do
        SEEN=$(in_guest socat -T 5 -u "TCP:$target:9000" - 2>"$WORK/socat.err")
        [ -n "$SEEN" ] && break
        log "attempt $try: $(cat "$WORK/socat.err")"
        sleep 0.5
    done
    assert_kernel_tcp "$WORK/api.sock"
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

err=$("$SLIRP" --outbound-addr=s4n-nope 1 tap0 2>&1)
expect "unknown interface refused" grep -q "neither an address nor an interface" <<<"$err"
pass "literal and interface-name sources seen by the peer, IPv4 and IPv6"
