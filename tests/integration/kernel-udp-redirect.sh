#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The guest's UDP delivered by tc (tc_redirect.hpp's UDP veth, read from a
# packet socket's ring: frame_ring.hpp), at MTU 65520 where a guest's
# datagrams may be of any size. Before the guest sends UDP in earnest the
# UDP veth waits with no filter and no ring mapped; then, to a peer
# outside and to the gateway, IPv4 and IPv6, datagrams of 1200 bytes and of
# the sizes at the filters' bound (an IP packet of 2047 bytes, or an IPv6
# payload of 2047, the largest a ring slot takes, and one byte more, which
# stays on the tap) all arrive intact with a SHA-256 end to end, most by
# tc; the ring lost none and cut none short. Those uploads stream large
# datagrams, which has the ring linger (get_stats counts it); as many
# small ones do not. After a quiet minute the
# filters and the ring go (the daemon's RSS with them); UDP brings them
# back. With --udp-path=tap: no UDP veth, no UDP filter, nothing by tc, the
# same datagrams intact.
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

udp_filters_gone() { [ -z "$(redirect_prios tap0 "$UDP_REDIRECT_PRIOS")" ]; }
# ring_mapped: the daemon has the packet socket's ring mapped.
ring_mapped() { grep -q "socket:" "/proc/$SLIRP_PID/maps"; }
ring_unmapped() { ! ring_mapped; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SLIRP_PID/status"; }

start_guest
start_slirp -c -6 --mtu 65520 -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
sock=$WORK/api.sock
wait_redirect "$sock" tap0 default
wait_until 15 guest_has_ra_address || fail "no usable IPv6 address in the guest"
in_guest ip link show dev "$(udp_veth tap0)" >/dev/null 2>&1 || fail "no $(udp_veth tap0) in the guest"
udp_filters_gone || fail "UDP filters before the guest sent any UDP"
expect_not "no ring mapped before the guest sent UDP" ring_mapped
uploads default
assert_udp_redirect_state tap0 default
expect "the ring is mapped while UDP flows" ring_mapped
# Nine uploads and a round trip; all but the first few hundred datagrams
# under the bound (two sizes of three to each target, and the round
# trip's upload) came by tc.
assert_kernel_udp "$sock" $((10 * N)) $((6 * N))
drops=$(stats_field "$sock" kernel_udp_redirect_drops)
[ "$drops" = 0 ] || fail "the ring lost or cut short $drops frames"
log "runs gathered into one send: $(stats_field "$sock" kernel_udp_runs_from_guest)"
# Each upload streams its large datagrams: the ring lingered for them.
lingers=$(stats_field "$sock" kernel_udp_ring_lingers)
[ "$lingers" -gt 0 ] || fail "uploads of large datagrams never had the ring linger"
# Small datagrams, as fast, never do (and arrive intact).
got=$(udp_peer upload 10.0.2.2 7001 "$N" 200)
[ "$got" = ok ] || fail "$N datagrams of 200 bytes to the gateway: '$got'"
[ "$(stats_field "$sock" kernel_udp_ring_lingers)" = "$lingers" ] ||
    fail "small datagrams had the ring linger ($lingers times before, $(stats_field "$sock" kernel_udp_ring_lingers) after)"
rss=$(rss_kib)
# A quiet minute: the filters go, and the ring.
wait_until 90 udp_filters_gone || fail "the UDP filters stayed after 90 quiet seconds"
wait_until 10 ring_unmapped || fail "the ring stayed mapped after its filters went"
log "RSS with the ring $rss KiB, after it went $(rss_kib) KiB"
redirected=$(stats_field "$sock" kernel_udp_frames_redirected)
udp_round_trip 10.0.2.2 7001 "$N" "after the quiet minute"
assert_udp_redirect_state tap0 "after the quiet minute"
[ "$(stats_field "$sock" kernel_udp_frames_redirected)" -gt "$redirected" ] ||
    fail "after the quiet minute, UDP did not come by tc again"
stop_slirp
wait_until 10 redirect_state_gone tap0 || fail "the UDP veth or filters outlived the daemon"

start_guest
start_slirp -c -6 --mtu 65520 --udp-path=tap -a "$WORK/api2.sock" "$GUEST_PID" tap0 ||
    fail "--udp-path=tap: did not start"
sock=$WORK/api2.sock
S4N_UDP_DELIVERY=tap wait_redirect "$sock" tap0 "--udp-path=tap"
wait_until 15 guest_has_ra_address || fail "--udp-path=tap: no usable IPv6 address in the guest"
in_guest ip link show dev "$(udp_veth tap0)" >/dev/null 2>&1 && fail "--udp-path=tap, yet $(udp_veth tap0) exists"
uploads "--udp-path=tap"
udp_filters_gone || fail "--udp-path=tap, yet tap0 has UDP filters"
S4N_UDP_DELIVERY=tap assert_kernel_udp "$sock" $((10 * N))
pass "UDP by tc at MTU 65520 once it flows: datagrams to the ring's bound and past it intact, none lost there, the ring lingering $lingers times for large ones, never for small ones; gone after a quiet minute, back with UDP; --udp-path=tap reads the tap"
