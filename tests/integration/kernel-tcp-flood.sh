#!/bin/bash
# A guest floods SYNs to random ports of addresses that never answer: with
# --tcp-path=kernel the daemon keeps answering its API during the flood, its
# descriptors stay within the pending-connect bound and its memory bounded,
# and a real connection still gets through. (The bounds here are generous
# guards against a leak, not measurements.)
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
in_guest curl -s -m 10 -o /dev/null http://10.0.2.2:8000/ || fail "no connection before the flood"
fds_before=$(ls "/proc/$SLIRP_PID/fd" | wc -l)
rss_before=$(awk '/^VmRSS/ { print $2 }' "/proc/$SLIRP_PID/status")

in_guest python3 "$TESTS_DIR/integration/syn-flood.py" tap0 "$SYNS" >"$WORK/flood.log" 2>&1 &
flood=$!
BACKGROUND_PIDS+=($flood)

max_fds=0
checks=0
while kill -0 "$flood" 2>/dev/null; do
    timeout 10 python3 "$TESTS_DIR/integration/api-client.py" "$WORK/api.sock" \
        '{"execute":"list_hostfwd"}' >/dev/null || fail "the API did not answer during the flood"
    fds=$(ls "/proc/$SLIRP_PID/fd" | wc -l)
    [ "$fds" -gt "$max_fds" ] && max_fds=$fds
    checks=$((checks + 1))
    sleep 0.2
done
wait "$flood" || fail "the flood failed: $(cat "$WORK/flood.log")"
grep -q "delivered $SYNS\$" "$WORK/flood.log" || fail "the flood did not finish: $(cat "$WORK/flood.log")"
log "flood: $(cat "$WORK/flood.log"); list_hostfwd answered $checks times, the slowest in $max_ms ms"

fds=$(ls "/proc/$SLIRP_PID/fd" | wc -l)
[ "$fds" -gt "$max_fds" ] && max_fds=$fds
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$SLIRP_PID/status")
# 1024 pending connects at most, plus pipes and the API: a leak would be far above.
[ "$max_fds" -le $((fds_before + 1024 + 64)) ] ||
    fail "descriptors grew from $fds_before to $max_fds during the flood"
[ "$rss" -le $((rss_before + 65536)) ] || fail "RSS grew from $rss_before to $rss KiB"
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "no connection after the flood: '$body'"
kill -0 "$SLIRP_PID" || fail "the daemon died"
pass "$SYNS SYNs: API answered $checks times, fds $fds_before -> max $max_fds, RSS $rss_before -> $rss KiB"
