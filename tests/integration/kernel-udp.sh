#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The kernel UDP path (--udp-path=kernel, the default): QUIC-like traffic,
# thousands of 1200-byte datagrams each way with a SHA-256 over them
# compared end to end, to a peer outside (192.0.2.254, 2001:db8::fe) and to
# the gateway (the host's loopback), IPv4 and IPv6; endpoint-independent
# mapping and filtering (two servers see one source port for one guest
# socket, and a third socket it never sent to reaches it); ICMP port
# unreachable reaching a guest's connected socket as ECONNREFUSED (and a
# send the host cannot route as ENETUNREACH, as libslirp answers it); and
# get_stats' counters. Under S4N_TCP_PATH=slirp the same runs through
# libslirp's UDP, as the original.
. "$(dirname "$0")/../lib.sh"

N=${S4N_UDP_DATAGRAMS:-3000}
peer_network
udp_peer_server 192.0.2.254 7000 nsenter --target "$PEER_PID" --net --
udp_peer_server 2001:db8::fe 7000 nsenter --target "$PEER_PID" --net --
udp_peer_server 127.0.0.1 7001
udp_peer_server ::1 7001

start_guest
start_slirp -c -6 -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
sock=$WORK/api.sock
wait_until 15 guest_has_ra_address || fail "no usable IPv6 address in the guest"

for target in 192.0.2.254:7000 10.0.2.2:7001 [2001:db8::fe]:7000 [fd00::2]:7001; do
    host=${target%:*} host=${host#[} host=${host%]} port=${target##*:}
    start=$(date +%s%N)
    udp_round_trip "$host" "$port" "$N" "$target"
    log "$target: $N datagrams of 1200 bytes each way in $(ms_since "$start") ms"
done

# One guest socket, two servers: both see the same source port, and a
# socket of the first server's that the guest never sent to reaches it.
got=$(udp_peer who 192.0.2.254 7000 10.0.2.2 7001)
log "who: $(tr '\n' ' ' <<<"$got")"
grep -q '^same [0-9]*$' <<<"$got" || fail "two servers saw different source ports: $got"
grep -q '^third 192\.0\.2\.254 [0-9]*$' <<<"$got" || fail "a datagram from a third socket did not arrive: $got"
got=$(udp_peer who 2001:db8::fe 7000 fd00::2 7001)
grep -q '^same [0-9]*$' <<<"$got" || fail "IPv6: two servers saw different source ports: $got"
grep -q '^third 2001:db8::fe [0-9]*$' <<<"$got" || fail "IPv6: a datagram from a third socket did not arrive: $got"

# libslirp 4.7.0 answers nothing for the host's loopback (the gateway).
for target in "192.0.2.254 7999" "10.0.2.2 7999" "2001:db8::fe 7999" "fd00::2 7999"; do
    got=$(udp_peer refused $target)
    if [ "${S4N_TCP_PATH:-}" = slirp ] && [[ $target == 10.0.2.2* || $target == fd00::2* ]]; then
        log "libslirp, a connected guest socket to $target (nothing there): $got"
        continue
    fi
    [ "$got" = refused ] || fail "a connected guest socket to $target (nothing there): '$got', not refused"
done

# No route to it from the host: the send fails, and the guest hears of it
# as from libslirp (ICMP network unreachable: a soft error, which a socket
# reports with IP_RECVERR only).
got=$(udp_peer refused 203.0.113.1 7999 recverr)
[ "$got" = ENETUNREACH ] || fail "a connected guest socket to 203.0.113.1 (no route): '$got', not ENETUNREACH"

# Four targets, N datagrams of 1200 bytes each way to each.
assert_kernel_udp "$sock" $((4 * N)) $((3 * N))
if [ "${S4N_TCP_PATH:-}" != slirp ]; then
    for field in kernel_udp_datagrams_to_guest:$((4 * N)) kernel_udp_bytes_from_guest:$((4800 * N)) \
        kernel_udp_bytes_to_guest:$((4800 * N)); do
        value=$(stats_field "$sock" "${field%:*}")
        log "${field%:*}: $value"
        [ "$value" -ge "${field#*:}" ] || fail "${field%:*} is $value, expected >= ${field#*:}"
    done
    flows=$(stats_field "$sock" kernel_udp_flows)
    [ "$flows" -ge 1 ] || fail "kernel_udp_flows is $flows with flows open"
    log "flows $flows, dropped $(stats_field "$sock" kernel_udp_dropped)"
fi
pass "$N datagrams each way x 4 targets intact; one mapping for two peers; ECONNREFUSED; counters"
