#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Slirp-mode port forwards beside kernel-to-kernel delivery: their flows are
# libslirp's, so the guest's side of them must stay on tap0 (a filter
# excludes each forwarded guest port from the redirect). Every forward the
# API accepts carries, however many there are (40 here, to 40 guest ports;
# the API may refuse one it cannot serve, with an error, but never accept it
# and drop its traffic), and a removed forward makes room for a new one.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

FIRST=8001
LAST=8040
SOCK=$WORK/api.sock

start_guest
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
wait_redirect "$SOCK" tap0 start
# One guest server on every port, answering each connection with its port.
background nsenter --target "$GUEST_PID" --net python3 -c '
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in range(int(sys.argv[1]), int(sys.argv[2]) + 1):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.0.2.100", port))
    s.listen(16)
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        c.sendall(b"port %d\n" % c.getsockname()[1])
        c.close()
' "$FIRST" "$LAST"
wait_until 10 in_guest sh -c "ss -Hltn 'sport = :$LAST' | grep -q ." || fail "the guest's servers did not start"

# forward GUEST_PORT HOST_PORT: a slirp-mode forward; prints its id, or
# nothing when the API refused it (with an error reply; anything else fails).
forward() {
    local reply
    reply=$(api "$SOCK" "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":$2,\"guest_port\":$1,\"mode\":\"slirp\"}}")
    case $reply in
        '{"return":{"id":'*) sed 's/[^0-9]//g' <<<"$reply" ;;
        '{"error":'*) log "forward to guest port $1 refused: $reply" ;;
        *) fail "add_hostfwd for guest port $1 answered '$reply'" ;;
    esac
}

# carries GUEST_PORT HOST_PORT: a connection to the host port reaches the
# guest's server on the guest port.
carries() {
    local got
    got=$(timeout 10 socat -T 5 -u "TCP:127.0.0.1:$2" - 2>&1)
    [ "$got" = "port $1" ] ||
        fail "the accepted slirp-mode forward 127.0.0.1:$2 -> guest port $1 returned '$got': $(grep -v '^\*' "$WORK/slirp.log" | tail -n 1)"
}

accepted=0
declare -A ids
for port in $(seq "$FIRST" "$LAST"); do
    id=$(forward "$port" $((port + 10000)))
    [ -n "$id" ] || continue
    ids[$port]=$id
    accepted=$((accepted + 1))
    carries "$port" $((port + 10000))
done
[ "$accepted" -ge 1 ] || fail "the API refused every slirp-mode forward"
# Every accepted one still carries once all are in place.
for port in "${!ids[@]}"; do carries "$port" $((port + 10000)); done
log "$accepted of $((LAST - FIRST + 1)) slirp-mode forwards accepted, each carrying"

# Removing them all makes room again: forwards to the same guest ports on
# other host ports carry as before.
for port in "${!ids[@]}"; do
    reply=$(api "$SOCK" "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":${ids[$port]}}}")
    [ "$reply" = '{"return":{}}' ] || fail "remove_hostfwd ${ids[$port]} answered '$reply'"
done
again=0
for port in $(seq "$FIRST" "$LAST"); do
    id=$(forward "$port" $((port + 20000)))
    [ -n "$id" ] || continue
    again=$((again + 1))
    carries "$port" $((port + 20000))
done
[ "$again" -ge "$accepted" ] || fail "after removing all $accepted forwards, only $again were accepted again"
assert_kernel_tcp "$SOCK" 0
stop_slirp
pass "$accepted of $((LAST - FIRST + 1)) slirp-mode forwards accepted, each carrying beside the redirect; again after all were removed"
