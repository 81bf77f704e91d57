#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The guest's UDP delivered by tc (tc_redirect.hpp's UDP veth, read from a
# packet socket's ring: frame_ring.hpp), at MTU 65520 where a guest's
# datagrams may be of any size: to a peer outside and to the gateway,
# IPv4 and IPv6, datagrams of 1200 bytes and of the sizes at the filters'
# bound (an IP packet of 2047 bytes, or an IPv6 payload of 2047, the
# largest a ring slot takes, and one byte more, which stays on the tap),
# all intact with a SHA-256 end to end; the ring lost none and cut none
# short, and get_stats counts what it carried. With --udp-path=tap: no UDP
# veth, no UDP filter, nothing by tc, the same datagrams intact.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

N=1000
peer_network
udp_peer_server 192.0.2.254 7000 nsenter --target "$PEER_PID" --net --
udp_peer_server 2001:db8::fe 7000 nsenter --target "$PEER_PID" --net --
udp_peer_server 127.0.0.1 7001

# uploads LABEL: N datagrams of each size to each target, checked. IPv4: a
# UDP payload of 2019 bytes is an IP packet of 2047; IPv6: one of 2039 is a
# payload (UDP header and all) of 2047.
uploads() {
    local label=$1 target sizes size got
    for target in "192.0.2.254 7000" "10.0.2.2 7001" "2001:db8::fe 7000"; do
        sizes="1200 2019 2020"
        [[ $target == *:* ]] && sizes="1200 2039 2040"
        for size in $sizes; do
            got=$(udp_peer upload $target "$N" "$size")
            [ "$got" = ok ] || fail "$label: $N datagrams of $size bytes to $target: '$got'"
        done
    done
    udp_round_trip 192.0.2.254 7000 "$N" "$label"
}

start_guest
start_slirp -c -6 --mtu 65520 -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
sock=$WORK/api.sock
wait_redirect "$sock" tap0 default
wait_until 15 guest_has_ra_address || fail "no usable IPv6 address in the guest"
assert_udp_redirect_state tap0 default
uploads default
# Nine uploads and a round trip; every datagram under the bound (two sizes
# of three to each target, and the round trip's upload) came by tc.
assert_kernel_udp "$sock" $((10 * N)) $((7 * N))
drops=$(stats_field "$sock" kernel_udp_redirect_drops)
[ "$drops" = 0 ] || fail "the ring lost or cut short $drops frames"
log "runs gathered into one send: $(stats_field "$sock" kernel_udp_runs_from_guest)"
stop_slirp
wait_until 10 redirect_state_gone tap0 || fail "the UDP veth or filters outlived the daemon"

start_guest
start_slirp -c -6 --mtu 65520 --udp-path=tap -a "$WORK/api2.sock" "$GUEST_PID" tap0 ||
    fail "--udp-path=tap: did not start"
sock=$WORK/api2.sock
S4N_UDP_DELIVERY=tap wait_redirect "$sock" tap0 "--udp-path=tap"
wait_until 15 guest_has_ra_address || fail "--udp-path=tap: no usable IPv6 address in the guest"
in_guest ip link show dev "$(udp_veth tap0)" >/dev/null 2>&1 && fail "--udp-path=tap, yet $(udp_veth tap0) exists"
[ -z "$(redirect_prios tap0 "$UDP_REDIRECT_PRIOS")" ] || fail "--udp-path=tap, yet tap0 has UDP filters"
uploads "--udp-path=tap"
S4N_UDP_DELIVERY=tap assert_kernel_udp "$sock" $((10 * N))
pass "UDP by tc at MTU 65520: datagrams to the ring's bound and past it intact, none lost there; --udp-path=tap reads the tap"
