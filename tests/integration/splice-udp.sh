#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Splice-mode UDP forwards (IPv4 and IPv6, chosen by --port-forward-mode):
# datagrams both ways, one flow per host peer, a 60000-byte datagram intact,
# answers from another of the guest's addresses than the one asked (also
# with forwards to two of them), and removal dropping the flows and freeing
# the port.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
PEER="$TESTS_DIR/integration/splice-peer.py"
check() { timeout 60 python3 "$PEER" "$@" || fail "check $*"; }

start_guest
start_slirp -c -6 --mtu=65520 --port-forward-mode=splice -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
splice_peer_servers

api_add "$SOCK" '"proto":"udp","host_addr":"127.0.0.1","host_port":17008,"guest_port":7008'
api_add "$SOCK" '"proto":"udp","host_addr":"::1","host_port":27008,"guest_addr":"::1","guest_port":7008'
list=$(api "$SOCK" '{"execute":"list_hostfwd"}')
expect "the CLI default mode is used" grep -qF '"host_port":17008,"guest_addr":"10.0.2.100","guest_port":7008,"mode":"splice"' <<<"$list"
expect "slirp mode can still be asked for" api_add "$SOCK" '"proto":"udp","host_addr":"127.0.0.1","host_port":17009,"guest_port":7008,"mode":"slirp"'
bad=$(api "$SOCK" '{"execute":"add_hostfwd","arguments":{"proto":"udp","host_port":17010,"guest_port":7008,"mode":"kernel"}}')
[ "$bad" = '{"error":{"desc":"bad request: add_hostfwd: bad arguments.mode"}}' ] || fail "bad mode answered '$bad'"

check udp 127.0.0.1 17008
# As in any guest up for more than a few seconds, tap0 has its SLAAC address
# by now: the echo server, bound to [::], answers the client (shown to it as
# fd00::2) from that address, not from the ::1 it was asked on.
wait_until 15 guest_has_ra_address || fail "the guest has no address from the router advertisement"
check udp ::1 27008
check udp 127.0.0.1 17009
# Three host peers at once: three flows, each answered on its own socket.
for i in 1 2 3; do
    python3 "$PEER" udp 127.0.0.1 17008 5 &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || fail "a concurrent UDP peer failed"; done
# A flow's guest socket is not connected when it shows the client (the
# echo server may answer from another address): it is the one not on 7008.
flows=$(in_guest ss -Hun state all "sport != :7008" | wc -l)
[ "$flows" -ge 5 ] || fail "expected a guest socket per host peer, found $flows"

api "$SOCK" '{"execute":"remove_hostfwd","arguments":{"id":1}}' | grep -qx '{"return":{}}' || fail "remove failed"
wait_until 5 sh -c "[ \$(nsenter --target $GUEST_PID --net ss -Hun4 state all 'sport != :7008' | wc -l) = 0 ]" ||
    fail "flows of the removed forward are still open"
expect_not "removed UDP forward still answers" timeout 10 python3 "$PEER" udp 127.0.0.1 17008 3
api_add "$SOCK" '"proto":"udp","host_addr":"127.0.0.1","host_port":17008,"guest_port":7008,"mode":"splice"'
check udp 127.0.0.1 17008
# The same guest port on two of its addresses: the server answers both from
# one source address, and neither forward's flows may go deaf.
api_add "$SOCK" '"proto":"udp","host_addr":"127.0.0.1","host_port":17011,"guest_addr":"127.0.0.1","guest_port":7008'
check udp-two-guest-addresses 127.0.0.1 17008 17011
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
pass "UDP over IPv4 and IPv6, per-peer flows, large datagrams, removal"
