#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A flood of DNS queries costs the forwarder bounded memory and descriptors,
# and both come back afterwards: 100,000 queries from the guest (256 at a
# time) to a nameserver that answers, 200 TCP connections at once (64 are
# the forwarder's, the rest libslirp's), then a burst of 20,000 at once to one
# that never does, which fills the bound of queries in flight (the rest are
# dropped and counted). Figures, not timings, decide.
. "$(dirname "$0")/../lib.sh"

[ "${S4N_TCP_PATH:-}" = slirp ] && skip "DNS is libslirp's with --tcp-path=slirp"
echo "nameserver 127.0.0.11" >"$WORK/resolv.conf"
mount --bind "$WORK/resolv.conf" /etc/resolv.conf
dns_server answer 127.0.0.11 198.51.100.1
dns_server silent 127.0.0.12 0.0.0.0
SOCK=$WORK/api.sock
start_guest
start_slirp -c --api-socket "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
wait_startup_over
[ "$(dns_ask 10.0.2.3 warm.test)" = 198.51.100.1 ] || fail "no answer before the flood"
sleep 6  # the idle check returns start-up's memory
base_fds=$(proc_fds "$SLIRP_PID") base_rss=$(proc_rss_kib "$SLIRP_PID")

in_guest python3 "$TESTS_DIR/integration/dns-peer.py" flood 10.0.2.3 100000 >"$WORK/flood.out" &
client=$!
peak_while $client
wait $client
log "flood: $(cat "$WORK/flood.out"); daemon $base_fds fds / $base_rss KiB before," \
    "peak $PEAK_FDS / $PEAK_RSS_KIB over $SAMPLES samples"
answered=$(sed -n 's/.*answered \([0-9]*\)/\1/p' "$WORK/flood.out")
[ "${answered:-0}" -ge 99000 ] || fail "only ${answered:-0} of 100000 queries answered"
[ "$(stats_field "$SOCK" dns_answers)" -ge "$answered" ] || fail "dns_answers below what the guest got"
flood_peak_fds=$PEAK_FDS flood_peak_rss=$PEAK_RSS_KIB

# 200 TCP connections at once: 64 are the forwarder's streams, the rest go
# to libslirp (which asks the same nameserver); all are answered.
taken_before=$(stats_field "$SOCK" kernel_tcp_total)
got=$(in_guest timeout 60 python3 "$TESTS_DIR/integration/dns-peer.py" tcp-many 10.0.2.3 200)
taken=$(($(stats_field "$SOCK" kernel_tcp_total) - taken_before))
log "200 TCP connections at once: $got; $taken were the forwarder's"
[ "$got" = "answered 200" ] || fail "200 TCP connections to 10.0.2.3:53: $got"
[ "$taken" -ge 1 ] && [ "$taken" -le 64 ] || fail "the forwarder took $taken TCP connections, bound 64"
wait_until 20 sh -c "[ \$(ls /proc/$SLIRP_PID/fd | wc -l) -le $base_fds ]" ||
    fail "descriptors not back after the TCP connections: $(fd_kinds "$SLIRP_PID")"

# A nameserver that never answers: the queries in flight reach their bound.
echo "nameserver 127.0.0.12" >"$WORK/resolv.conf"
sleep 1.1  # the forwarder looks at resolv.conf at most once a second
in_guest python3 "$TESTS_DIR/integration/dns-peer.py" burst 10.0.2.3 20000 >/dev/null &
client=$!
peak_while $client
wait $client
wait_until 10 sh -c "[ \$(wc -l <'$WORK/dns-127.0.0.12.log') -ge 512 ]" ||
    fail "the silent nameserver got $(dns_queries 127.0.0.12) queries, not the 512 in flight"
dropped=$(stats_field "$SOCK" dns_dropped)
log "burst to a black hole: $(dns_queries 127.0.0.12) queries reached it, $dropped dropped;" \
    "peak $PEAK_FDS fds / $PEAK_RSS_KIB KiB"
[ "$dropped" -gt 0 ] || fail "20000 queries at once to a black hole, none dropped: no bound"

# Bounded: a socket per nameserver and a few MB at most, however many came.
for peak in "$flood_peak_fds" "$PEAK_FDS"; do
    [ "$peak" -le $((base_fds + 4)) ] || fail "descriptors peaked at $peak (from $base_fds)"
done
# Under the sanitizers RSS is the allocator's (its quarantine keeps what was
# freed): the RSS bounds hold for the normal build, LeakSanitizer checks
# the sanitized one at exit.
sanitized=${S4N_SANITIZED:+yes}
for peak in "$flood_peak_rss" "$PEAK_RSS_KIB"; do
    [ -n "$sanitized" ] || [ "$peak" -le $((base_rss + 16384)) ] ||
        fail "RSS peaked at $peak KiB (from $base_rss)"
done
# Back: the black hole's queries time out (2 s, twice: 6 s), the idle check
# (every 5 s) returns the memory.
back() {
    [ "$(proc_fds "$SLIRP_PID")" -le "$base_fds" ] &&
        { [ -n "$sanitized" ] || [ "$(proc_rss_kib "$SLIRP_PID")" -le $((base_rss + 1024)) ]; }
}
wait_until 30 back || fail "not back: $(proc_fds "$SLIRP_PID") fds, $(proc_rss_kib "$SLIRP_PID") KiB" \
    "(from $base_fds, $base_rss)"
log "back to $(proc_fds "$SLIRP_PID") fds, $(proc_rss_kib "$SLIRP_PID") KiB"
[ "$(dns_ask 10.0.2.3 after.test)" = "rcode 2" ] || fail "after the flood no SERVFAIL from the black hole"
stop_slirp
pass "100000 queries answered, a burst of 20000 bounded ($dropped dropped); fds and RSS bounded and back"
