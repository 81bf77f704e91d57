#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Port forwards added through the API after the daemon confined itself
# (--enable-sandbox --enable-seccomp, as root): the listening sockets are
# created inside the sandbox, a privileged host port works with the one
# capability kept (CAP_NET_BIND_SERVICE), TCP and UDP carry traffic, list
# shows them, remove stops them; the exit-fd still ends the daemon (status 0).
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock

start_guest
rm -f "$WORK/exit"
mkfifo "$WORK/exit"
exec 5<>"$WORK/exit"
{ start_slirp -c --enable-sandbox --enable-seccomp -a "$SOCK" --exit-fd=6 "$GUEST_PID" tap0 \
    6<"$WORK/exit"; } 5>&- || fail "did not start"
rm -f "$WORK/exit"
assert_confined "$SLIRP_PID" 0000000000000400

mkdir -p "$WORK/www"
echo "hello from guest" >"$WORK/www/index.html"
background nsenter --target "$GUEST_PID" --net python3 -m http.server 80 --bind 10.0.2.100 \
    --directory "$WORK/www" 5>&-
# (5>&-: a server holding the exit fifo's write end would keep it from hanging up.)
udp_echo 0.0.0.0 5353 nsenter --target "$GUEST_PID" --net 5>&-
wait_until 10 in_guest sh -c 'ss -Hltn "sport = :80" | grep -q .' || fail "guest HTTP server did not start"

api_add "$SOCK" '"proto":"tcp","host_addr":"127.0.0.1","host_port":8080,"guest_port":80'
api_add "$SOCK" '"proto":"tcp","host_addr":"127.0.0.1","host_port":81,"guest_port":80'
api_add "$SOCK" '"proto":"udp","host_addr":"127.0.0.1","host_port":5300,"guest_port":5353'
list=$(api "$SOCK" '{"execute":"list_hostfwd"}')
for port in 8080 81 5300; do
    grep -q "\"host_port\":$port," <<<"$list" || fail "list_hostfwd lacks port $port: $list"
done

body=$(curl -s -m 10 http://127.0.0.1:8080/)
[ "$body" = "hello from guest" ] || fail "TCP forward 127.0.0.1:8080 returned '$body'"
body=$(curl -s -m 10 http://127.0.0.1:81/)
[ "$body" = "hello from guest" ] || fail "privileged TCP forward 127.0.0.1:81 returned '$body'"
reply=$(udp_ask 127.0.0.1 5300)
[ "$reply" = "echo:ping" ] || fail "UDP forward 127.0.0.1:5300 answered '$reply'"

id=$(python3 -c 'import json, sys
print([e["id"] for e in json.loads(sys.argv[1])["return"]["entries"] if e["host_port"] == 8080][0])' "$list")
reply=$(api "$SOCK" "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":$id}}")
[ "$reply" = '{"return":{}}' ] || fail "remove_hostfwd answered '$reply'"
expect_not "removed forward still answers" curl -s -m 3 http://127.0.0.1:8080/
body=$(curl -s -m 10 http://127.0.0.1:81/)
[ "$body" = "hello from guest" ] || fail "the other forward broke after a removal: '$body'"
list=$(api "$SOCK" '{"execute":"list_hostfwd"}')
grep -q '"host_port":8080,' <<<"$list" && fail "list still shows the removed forward: $list"

assert_confined "$SLIRP_PID" 0000000000000400
exec 5>&-
wait_until 5 sh -c "! kill -0 $SLIRP_PID 2>/dev/null" || fail "still running after the exit-fd closed"
wait "$SLIRP_PID"
status=$?
[ "$status" = 0 ] || fail "exit status $status after the exit-fd closed"
expect "API socket removed on exit" test ! -e "$SOCK"
pass "forwards added inside the sandbox carry TCP (port 81 too) and UDP; remove and exit-fd work"
