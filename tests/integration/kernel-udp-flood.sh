#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A guest floods UDP with the kernel UDP path: 100,000 datagrams to 65,535
# destinations from one socket cost the daemon one host socket (mapping is
# per guest port, not per destination); 100,000 datagrams from a fresh
# socket each (as many guest ports as the guest's kernel hands out) cost at
# most the bound of 4096 flows' descriptors, and memory stays bounded; the
# daemon answers its API throughout and a real exchange still works after.
# (The bounds are guards against a leak, not measurements. Idle flows end
# after libslirp's 240 s; test_kernel_udp shows that on a test clock.)
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

DATAGRAMS=${S4N_FLOOD_DATAGRAMS:-100000}
MAX_FLOWS=4096
peer_network
udp_peer_server 192.0.2.254 7000 nsenter --target "$PEER_PID" --net --

start_guest
start_slirp -c -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
sock=$WORK/api.sock
got=$(udp_peer upload 192.0.2.254 7000 10)
[ "$got" = ok ] || fail "no exchange before the flood: '$got'"
wait_startup_over
fds_before=$(proc_fds "$SLIRP_PID")
rss_before=$(proc_rss_kib "$SLIRP_PID")
flows_before=$(stats_field "$sock" kernel_udp_flows)

api_alive() { stats_field "$sock" kernel_udp_flows >/dev/null; }

# One socket, every destination port of the peer (nothing listens on most:
# its ICMP errors come back, rate-limited, and go to the guest).
in_guest python3 "$TESTS_DIR/integration/udp-peer.py" flood 192.0.2.254 1 "$DATAGRAMS" >"$WORK/flood1.log" 2>&1 &
flood=$!
BACKGROUND_PIDS+=($flood)
peak_while $flood api_alive
grep -q sent "$WORK/flood1.log" || fail "the first flood did not finish: $(cat "$WORK/flood1.log")"
flows=$(stats_field "$sock" kernel_udp_flows)
log "one socket, $DATAGRAMS datagrams: flows $flows_before -> $flows, descriptors $fds_before -> peak $PEAK_FDS, RSS $rss_before -> peak $PEAK_RSS_KIB KiB ($SAMPLES samples)"
[ "$flows" -le $((flows_before + 1)) ] || fail "one guest socket made $flows flows"
[ "$PEAK_FDS" -le $((fds_before + 1)) ] || fail "one guest socket cost $((PEAK_FDS - fds_before)) descriptors"

# A fresh socket for each datagram: a new guest port each time.
in_guest python3 "$TESTS_DIR/integration/udp-peer.py" flood 192.0.2.254 1 "$DATAGRAMS" 1 >"$WORK/flood2.log" 2>&1 &
flood=$!
BACKGROUND_PIDS+=($flood)
peak_while $flood api_alive
grep -q sent "$WORK/flood2.log" || fail "the second flood did not finish: $(cat "$WORK/flood2.log")"
flows=$(stats_field "$sock" kernel_udp_flows)
taken=$(stats_field "$sock" kernel_udp_datagrams_from_guest)
log "a socket per datagram: flows $flows, descriptors peak $PEAK_FDS (before $fds_before), RSS peak $PEAK_RSS_KIB KiB, datagrams taken $taken, dropped $(stats_field "$sock" kernel_udp_dropped)"
[ "$flows" -le "$MAX_FLOWS" ] || fail "$flows flows, above the bound of $MAX_FLOWS"
[ "$flows" -ge 1000 ] || fail "only $flows flows after $DATAGRAMS guest ports: the flood did not reach the path"
[ "$PEAK_FDS" -le $((fds_before + MAX_FLOWS + 2)) ] || fail "descriptors peaked at $PEAK_FDS, above $fds_before + $MAX_FLOWS"
[ "$PEAK_RSS_KIB" -le $((rss_before + 65536)) ] || fail "RSS peaked at $PEAK_RSS_KIB KiB from $rss_before"
[ "$taken" -ge $((DATAGRAMS / 2)) ] || fail "the path took only $taken datagrams of $((2 * DATAGRAMS))"

got=$(udp_peer upload 192.0.2.254 7000 100)
[ "$got" = ok ] || fail "no exchange after the flood: '$got'"
got=$(udp_peer download 192.0.2.254 7000 100)
[ "$got" = ok ] || fail "no exchange after the flood: '$got'"
pass "one socket for $DATAGRAMS destinations; at most $MAX_FLOWS flows ($flows) for a socket per datagram; descriptors peak $PEAK_FDS from $fds_before"
