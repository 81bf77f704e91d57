#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The life of transparent splice forwards in the namespace: a TCP connection
# outlives the removal of its forward, with data intact; two forwards to one
# guest port serve one client port at once (the second from another port,
# same address); a forward's UDP reply rules go with it; the container's own
# UDP from a forwarded port still reaches other hosts (even the client's
# address on another port) through the tap; the rules and routes are shared
# by two daemons, left to the last one, gone after a clean exit, and neither
# duplicated nor left over when a killed daemon is restarted.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
PEER_PY=$TESTS_DIR/integration/transparent-peer.py
rules() { in_guest ip rule; in_guest ip -6 rule; }
our_rules() { rules | grep -c "lookup 1936484722"; }
our_routes() { in_guest ip route show table all | grep -c "table 1936484722"; }

start_guest
peer_network
start_slirp -c -6 -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
FIRST_PID=$SLIRP_PID
background nsenter --target "$GUEST_PID" --net python3 "$PEER_PY" serve 7100 "$WORK/guest.log"
wait_until 10 in_guest sh -c 'ss -Hltn "sport = :7100" | grep -q . && ss -Hlun "sport = :7100" | grep -q .' ||
    fail "guest server did not start"
[ "$(our_rules)" = 2 ] && [ "$(our_routes)" = 2 ] || fail "expected one fwmark rule and one route per family: $(rules)"
[ "$(in_guest cat /proc/sys/net/ipv4/tcp_fwmark_accept)" = 1 ] || fail "tcp_fwmark_accept is not set"

# A connection open across the removal of its forward.
api_add "$SOCK" '"proto":"tcp","host_port":17201,"guest_port":7100'
in_peer timeout 60 python3 "$PEER_PY" tcp 192.0.2.1 17201 1000000 --hold "$WORK/go" >"$WORK/held" 2>&1 &
held=$!
wait_until 10 grep -q "^tcp 192.0.2.254 " "$WORK/guest.log" || fail "the held connection did not reach the guest"
api "$SOCK" '{"execute":"remove_hostfwd","arguments":{"id":1}}' | grep -qx '{"return":{}}' || fail "remove failed"
expect_not "the removed forward refuses new connections" in_peer timeout 5 python3 "$PEER_PY" tcp 192.0.2.1 17201 10
touch "$WORK/go"
wait $held || fail "the connection open across the removal failed: $(cat "$WORK/held")"
[ "$(cat "$WORK/held")" = 192.0.2.254 ] || fail "the held connection showed '$(cat "$WORK/held")'"

# Two forwards to one guest port, one client port: UDP flows and held TCP
# connections at once. The guest sees the client's address on both.
api_add "$SOCK" '"proto":"udp","host_port":17202,"guest_port":7100'
api_add "$SOCK" '"proto":"udp","host_port":17203,"guest_port":7100'
api_add "$SOCK" '"proto":"tcp","host_port":17202,"guest_port":7100'
api_add "$SOCK" '"proto":"tcp","host_port":17203,"guest_port":7100'
for port in 17202 17203; do
    seen=$(in_peer timeout 30 python3 "$PEER_PY" udp 192.0.2.1 $port 1200 --bind 40000) || fail "UDP through :$port: data lost"
    [ "$seen" = 192.0.2.254 ] || fail "UDP through :$port from port 40000 showed '$seen'"
done
grep -q "^udp 192.0.2.254 40000$" "$WORK/guest.log" || fail "the first UDP flow did not keep the client's port: $(cat "$WORK/guest.log")"
[ "$(grep -c "^udp 192.0.2.254 " "$WORK/guest.log")" = 2 ] || fail "the guest did not see two UDP flows: $(cat "$WORK/guest.log")"
rm -f "$WORK/go"
pids=()
for port in 17202 17203; do
    in_peer timeout 60 python3 "$PEER_PY" tcp 192.0.2.1 $port 500000 --bind 40001 --hold "$WORK/go" >"$WORK/held.$port" 2>&1 &
    pids+=($!)
done
wait_until 10 sh -c "[ \$(grep -c '^tcp 192.0.2.254 ' '$WORK/guest.log') = 3 ]" || fail "both TCP connections did not reach the guest: $(cat "$WORK/guest.log")"
touch "$WORK/go"
for i in 0 1; do
    wait ${pids[$i]} || fail "TCP connection $i from port 40001 failed"
done
for port in 17202 17203; do
    [ "$(cat "$WORK/held.$port")" = 192.0.2.254 ] || fail "TCP through :$port showed '$(cat "$WORK/held.$port")'"
done

# The container's own UDP from its forwarded port 7100, while a flow from
# 192.0.2.254:40000 is diverted: to the same client address on another port,
# and to a third host (192.0.2.3, on the host side), both through the tap.
in_guest ip rule | grep -q "to 192.0.2.254 ipproto udp sport 7100 dport 40000" || fail "no reply rule for the flow: $(rules)"
background nsenter --target "$PEER_PID" --net python3 "$PEER_PY" listen 40002 "$WORK/peer-got"
background python3 "$PEER_PY" listen 40003 "$WORK/third-got"
wait_until 10 sh -c "nsenter --target $PEER_PID --net ss -Hlun 'sport = :40002' | grep -q . && ss -Hlun 'sport = :40003' | grep -q ." ||
    fail "listeners did not start"
ask() {
    in_peer python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 40000))
s.settimeout(1)
for _ in range(10):
    s.sendto(sys.argv[1].encode(), ("192.0.2.1", 17202))
    try:
        print(s.recv(100).decode())
        break
    except socket.timeout:
        pass' "$1"
}
[ "$(ask "send-to 192.0.2.254 40002")" = sent ] || fail "the guest did not send to the client's other port"
[ "$(ask "send-to 192.0.2.3 40003")" = sent ] || fail "the guest did not send to the third host"
wait_until 10 grep -q "from the guest" "$WORK/peer-got" || fail "the client's other port got nothing from the guest's 7100"
wait_until 10 grep -q "from the guest" "$WORK/third-got" || fail "the third host got nothing from the guest's 7100"

# Removing a UDP forward takes its flows' reply rules with it.
api "$SOCK" '{"execute":"remove_hostfwd","arguments":{"id":2}}' | grep -qx '{"return":{}}' || fail "remove 2 failed"
api "$SOCK" '{"execute":"remove_hostfwd","arguments":{"id":3}}' | grep -qx '{"return":{}}' || fail "remove 3 failed"
rules | grep -q "sport 7100" && fail "UDP reply rules outlived their forwards: $(rules)"

# A second daemon on the same namespace shares the rules; its exit leaves
# them to the first, whose forwards still show clients; the last exit
# removes them and restores the sysctl.
start_slirp -6 -a "$WORK/api2.sock" "$GUEST_PID" tap1 || fail "second daemon did not start"
[ "$(our_rules)" = 2 ] && [ "$(our_routes)" = 2 ] || fail "a second daemon duplicated the rules: $(rules)"
stop_slirp
[ "$(our_rules)" = 2 ] && [ "$(our_routes)" = 2 ] || fail "the second daemon's exit removed rules the first uses: $(rules)"
seen=$(in_peer timeout 30 python3 "$PEER_PY" tcp 192.0.2.1 17202 10000) || fail "the first daemon's forward lost data"
[ "$seen" = 192.0.2.254 ] || fail "after the second daemon's exit the first's forward showed '$seen'"
SLIRP_PID=$FIRST_PID stop_slirp
[ "$(our_rules)" = 0 ] && [ "$(our_routes)" = 0 ] || fail "rules or routes left after the last clean exit: $(rules)"
[ "$(in_guest cat /proc/sys/net/ipv4/tcp_fwmark_accept)" = 0 ] || fail "tcp_fwmark_accept was not restored"

# A killed daemon leaves its rules (a UDP flow's too); a new one neither
# duplicates them nor keeps the dead one's flow rule, and cleans up on exit.
start_slirp -c -6 -a "$WORK/api3.sock" "$GUEST_PID" tap0 || fail "third daemon did not start"
api_add "$WORK/api3.sock" '"proto":"udp","host_port":17220,"guest_addr":"10.0.2.100","guest_port":7100'
seen=$(in_peer timeout 30 python3 "$PEER_PY" udp 192.0.2.1 17220 100 --bind 40010) || fail "UDP before the kill: data lost"
[ "$seen" = 192.0.2.254 ] || fail "UDP before the kill showed '$seen'"
rules | grep -q "sport 7100 dport 40010" || fail "no flow rule before the kill: $(rules)"
# The helper first, as a cgroup or OOM kill might: killed alone, the daemon
# closes the helper's channel, and the helper tidies up before its own end.
helper=$(pgrep -P "$SLIRP_PID" -x slirp4netns-fwd) || fail "no helper under the daemon"
kill -KILL "$helper" "$SLIRP_PID"
wait "$SLIRP_PID" 2>/dev/null
wait_until 10 sh -c "! kill -0 $helper 2>/dev/null" || fail "the killed daemon's helper lives on"
[ "$(our_rules)" -ge 3 ] || fail "expected the killed daemon's rules to remain: $(rules)"
start_slirp -6 -a "$WORK/api4.sock" "$GUEST_PID" tap3 || fail "restarted daemon did not start"
[ "$(our_rules)" = 2 ] && [ "$(our_routes)" = 2 ] || fail "the restarted daemon duplicated or kept rules: $(rules)"
stop_slirp
[ "$(our_rules)" = 0 ] && [ "$(our_routes)" = 0 ] || fail "rules left after the restarted daemon's exit: $(rules)"
pass "held connection survived removal; two forwards to one guest port; own UDP from 7100 reached others; rules shared, removed, not duplicated after a kill"
