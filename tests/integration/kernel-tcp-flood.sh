#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A guest floods SYNs to random ports of random addresses that never answer:
# with --tcp-path=kernel the daemon takes every one of them (get_stats counts
# each as a host connect it started), keeps answering its API during the
# flood, its descriptors and its listeners in the private namespace stay
# within the pending-connect bound and its memory bounded, a real connection
# still gets through, and once the far end answers the pending connects (it
# refuses them) their descriptors and the listeners come back. (The bounds are generous guards against a leak, not measurements;
# the API's latency is logged, not judged: make bench measures it.)
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

SYNS=${S4N_FLOOD_SYNS:-100000}
peer_network
# 203.0.113.0/24 goes to the peer, which discards it without a word.
ip route add 203.0.113.0/24 via 192.0.2.254
in_peer ip route add blackhole 203.0.113.0/24
http_server 8000

start_guest
start_slirp -c --tcp-path=kernel -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
sock=$WORK/api.sock
in_guest curl -s -m 10 -o /dev/null http://10.0.2.2:8000/ || fail "no connection before the flood"
wait_startup_over
fds_before=$(proc_fds "$SLIRP_PID")
listeners_before=$(stats_field "$sock" kernel_tcp_listeners)
rss_before=$(proc_rss_kib "$SLIRP_PID")
total_before=$(stats_field "$sock" kernel_tcp_total)
refused_before=$(stats_field "$sock" kernel_tcp_refused)

# syn-flood.py keeps at most 500 SYNs unread on the tap and sends a fresh
# one for any dropped: SYNS reach the daemon, each of a flow of its own.
in_guest python3 "$TESTS_DIR/integration/syn-flood.py" tap0 "$SYNS" >"$WORK/flood.log" 2>&1 &
flood=$!
BACKGROUND_PIDS+=($flood)

max_ms=0
checks=0
peak_listeners=0
# api_answers: list_hostfwd gets an answer (its latency is kept for the log),
# and so does get_stats (the listeners open in the private namespace are
# kept for the bound below).
api_answers() {
    local out ms listeners
    out=$(timeout 10 python3 "$TESTS_DIR/integration/api-client.py" --time "$sock" \
        '{"execute":"list_hostfwd"}') || return 1
    ms=$(tail -n 1 <<<"$out")
    ms=${ms%.*}
    [ "$ms" -gt "$max_ms" ] && max_ms=$ms
    checks=$((checks + 1))
    listeners=$(stats_field "$sock" kernel_tcp_listeners) || return 1
    [ "$listeners" -gt "$peak_listeners" ] && peak_listeners=$listeners
    return 0
}
peak_while "$flood" api_answers
wait "$flood" || fail "the flood failed: $(cat "$WORK/flood.log")"
grep -q "delivered $SYNS\$" "$WORK/flood.log" || fail "the flood did not finish: $(cat "$WORK/flood.log")"
log "flood: $(cat "$WORK/flood.log"); list_hostfwd answered $checks times, the slowest in $max_ms ms"

fds=$(proc_fds "$SLIRP_PID")
[ "$fds" -gt "$PEAK_FDS" ] && PEAK_FDS=$fds
rss=$(proc_rss_kib "$SLIRP_PID")
[ "$rss" -gt "$PEAK_RSS_KIB" ] && PEAK_RSS_KIB=$rss
started=$(($(stats_field "$sock" kernel_tcp_total) - total_before))
[ "$started" -ge "$SYNS" ] || fail "the daemon started $started host connects for $SYNS SYNs"
# 512 pending connects at most, each with its accept reserve, plus pipes and
# the API: a leak would be far above.
[ "$PEAK_FDS" -le $((fds_before + 1024 + 64)) ] ||
    fail "descriptors grew from $fds_before to $PEAK_FDS during the flood"
# Under the sanitizers RSS is the allocator's (its quarantine keeps what was
# freed), so the RSS bounds hold for the normal build; LeakSanitizer checks
# the sanitized one when it exits.
sanitized=${S4N_SANITIZED:+yes}
[ -n "$sanitized" ] || [ "$PEAK_RSS_KIB" -le $((rss_before + 65536)) ] ||
    fail "RSS grew from $rss_before to $PEAK_RSS_KIB KiB"
# A listener per port in use, and the SYNs went to some 60,000 ports: the
# pending connects' bound must hold them too.
[ "$peak_listeners" -le $((listeners_before + 1024)) ] ||
    fail "listeners grew from $listeners_before to $peak_listeners during the flood"
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "no connection after the flood: '$body'"

# The far end comes up and refuses: each pending connect's next SYN gets a
# reset, the connect fails and its descriptor goes. (Left alone they would
# go after the pending limit, 75 s.)
in_peer ip route add local 203.0.113.0/24 dev lo
fds_back() { [ "$(proc_fds "$SLIRP_PID")" -le $((fds_before + 16)) ]; }
wait_until 120 fds_back ||
    fail "descriptors did not come back: $fds_before before the flood, $(proc_fds "$SLIRP_PID") now"
refused=$(($(stats_field "$sock" kernel_tcp_refused) - refused_before))
listeners_back() { [ "$(stats_field "$sock" kernel_tcp_listeners)" -le "$listeners_before" ]; }
wait_until 60 listeners_back || fail "listeners did not come back: $listeners_before before the flood, \
$peak_listeners at most, $(stats_field "$sock" kernel_tcp_listeners) now"
rss_after=$(proc_rss_kib "$SLIRP_PID")
[ -n "$sanitized" ] || [ "$rss_after" -le $((rss_before + 16384)) ] ||
    fail "RSS did not come back: $rss_before KiB before the flood, $PEAK_RSS_KIB at most, $rss_after now"
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "no connection after the pending connects ended: '$body'"
kill -0 "$SLIRP_PID" || fail "the daemon died"
fds_after=$(proc_fds "$SLIRP_PID")
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS after SIGTERM"
pass "$SYNS SYNs taken; API answered $checks times (slowest $max_ms ms); fds $fds_before -> max $PEAK_FDS -> $fds_after ($refused refused); listeners $listeners_before -> max $peak_listeners; RSS $rss_before -> max $PEAK_RSS_KIB -> $rss_after KiB"
