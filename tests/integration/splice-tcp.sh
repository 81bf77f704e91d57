#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Splice-mode TCP forwards (IPv4 and IPv6): half-close in both directions,
# resets in both directions, a slow reader on either side (backpressure), and
# removal while a connection is open (it finishes; new ones are refused).
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
PEER="$TESTS_DIR/integration/splice-peer.py"
check() { timeout 60 python3 "$PEER" "$@" || fail "check $*"; }

start_guest
start_slirp -c -6 -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
splice_peer_servers

for port in 7001 7002 7003 7004 7005 7006; do
    api_add "$SOCK" "\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":1$port,\"guest_port\":$port,\"mode\":\"splice\""
    api_add "$SOCK" "\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":2$port,\"guest_addr\":\"::1\",\"guest_port\":$port,\"mode\":\"splice\""
done
list=$(api "$SOCK" '{"execute":"list_hostfwd"}')
expect "list_hostfwd reports the mode" grep -qF '"host_port":17001,"guest_addr":"10.0.2.100","guest_port":7001,"mode":"splice"' <<<"$list"

for host in 127.0.0.1 ::1; do
    p=$([ "$host" = ::1 ] && echo 2 || echo 1)
    log "half-close via $host"
    check half-close-up "$host" "${p}7001"
    rm -f "$WORK/guest/after-fin"
    check half-close-down "$host" "${p}7002"
    wait_until 5 test -s "$WORK/guest/after-fin" || fail "guest did not get bytes sent after its FIN ($host)"
    [ "$(cat "$WORK/guest/after-fin")" = still-open-after-your-fin ] || fail "after-fin: $(cat "$WORK/guest/after-fin")"
    log "resets via $host"
    check reset-down "$host" "${p}7003"
    rm -f "$WORK/guest/watcher"
    check reset-up "$host" "${p}7004"
    wait_until 5 test -s "$WORK/guest/watcher" || fail "guest watcher saw nothing ($host)"
    [ "$(cat "$WORK/guest/watcher")" = reset ] || fail "host reset reached the guest as '$(cat "$WORK/guest/watcher")' ($host)"
    log "backpressure via $host"
    check slow-guest-reader "$host" "${p}7005"
    check slow-host-reader "$host" "${p}7006"
done

# Removal with a connection open: the slow sink holds it for 2 s.
data_pid=
python3 "$PEER" slow-guest-reader 127.0.0.1 17005 & data_pid=$!
open_to_forward() { ss -Htn state established '( dport = :17005 )' | grep -q .; }
wait_until 10 open_to_forward || fail "the connection to remove under did not open"
api "$SOCK" '{"execute":"remove_hostfwd","arguments":{"id":9}}' | grep -qx '{"return":{}}' || fail "remove failed"
list=$(api "$SOCK" '{"execute":"list_hostfwd"}')
expect_not "removed forward still listed" grep -qF '"host_port":17005,' <<<"$list"
check refused 127.0.0.1 17005
wait "$data_pid" || fail "the connection open during removal did not finish intact"
kill -0 "$SLIRP_PID" || fail "daemon died"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
pass "half-close, RST, backpressure both ways over IPv4 and IPv6; removal keeps open connections"
