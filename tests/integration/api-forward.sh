#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Forwards added through the API carry traffic end to end: TCP and UDP from
# the host's 127.0.0.1 to servers in the guest, IPv6 from ::1 to the guest's
# IPv6 address (in splice mode too, while the address is still tentative),
# across families in splice mode, and a removed forward stops carrying.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock

start_guest
start_slirp -c -6 -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"

# Servers in the guest (nsenter execs python, so the test's cleanup kills it): HTTP on [::]:80 (dual-stack) and a UDP echo on 5353.
mkdir -p "$WORK/www"
echo "hello from guest" >"$WORK/www/index.html"
background nsenter --target "$GUEST_PID" --net python3 -c '
import http.server, socket, sys
class V6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=sys.argv[1])
V6(("::", 80), handler).serve_forever()' "$WORK/www"
udp_echo 0.0.0.0 5353 nsenter --target "$GUEST_PID" --net
wait_until 10 in_guest sh -c 'ss -Hltn "sport = :80" | grep -q .' || fail "guest HTTP server did not start"

api_add "$SOCK" '"proto":"tcp","host_addr":"127.0.0.1","host_port":8080,"guest_port":80'
api_add "$SOCK" '"proto":"udp","host_addr":"127.0.0.1","host_port":5300,"guest_port":5353'
body=$(curl -s -m 10 http://127.0.0.1:8080/)
[ "$body" = "hello from guest" ] || fail "TCP forward 127.0.0.1:8080 returned '$body'"

reply=$(udp_ask 127.0.0.1 5300)
[ "$reply" = "echo:ping" ] || fail "UDP forward 127.0.0.1:5300 answered '$reply'"

# IPv6: the guest gets its address from libslirp's router advertisement.
wait_until 15 sh -c "nsenter --target $GUEST_PID --net ip -6 -o addr show dev tap0 scope global | grep -q 'inet6 fd00::'" ||
    fail "guest got no IPv6 address from the router advertisement"
guest6=$(in_guest ip -6 -o addr show dev tap0 scope global | sed -n 's/.*inet6 \(fd00::[0-9a-f:]*\)\/.*/\1/p' | head -n1)
log "guest IPv6 address: $guest6"
# Straight away, while the address may still be in duplicate address
# detection: a splice forward's connect() inside the namespace fails
# EADDRNOTAVAIL then, and the daemon retries it (slirp mode goes through the
# tap, which the kernel accepts for a tentative address).
api_add "$SOCK" "\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":8087,\"guest_addr\":\"$guest6\",\"guest_port\":80,\"mode\":\"splice\""
body=$(curl -s -m 10 "http://[::1]:8087/")
[ "$body" = "hello from guest" ] || fail "splice forward [::1]:8087 -> [$guest6]:80 right after SLAAC returned '$body'"
# Slirp mode through the tap, which the stats below count.
api_add "$SOCK" "\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":8086,\"guest_addr\":\"$guest6\",\"guest_port\":80,\"mode\":\"slirp\""
api_add "$SOCK" "\"proto\":\"tcp\",\"host_addr\":\"::\",\"host_port\":8084,\"guest_addr\":\"$guest6\",\"guest_port\":80"
api_add "$SOCK" "\"proto\":\"udp\",\"host_addr\":\"::1\",\"host_port\":5306,\"guest_addr\":\"$guest6\",\"guest_port\":5353"
# Across families (podman's -p [::1]:8085:80 sends guest_addr ""): libslirp
# cannot relay these, so auto mode splices them, and slirp mode refuses.
api_add "$SOCK" '"proto":"tcp","host_addr":"::1","host_port":8085,"guest_addr":"","guest_port":80'
api_add "$SOCK" "\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":8089,\"guest_addr\":\"$guest6\",\"guest_port\":80"
api_add "$SOCK" '"proto":"udp","host_addr":"::1","host_port":5307,"guest_addr":"","guest_port":5353'
mixed=$(api "$SOCK" '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"::1","host_port":8088,"guest_port":80,"mode":"slirp"}}')
[ "$mixed" = "$(api_bad_request "add_hostfwd: bad arguments.guest_addr")" ] ||
    fail "slirp mode: IPv6 host_addr with the IPv4 default guest_addr answered '$mixed'"
body=$(curl -s -m 10 "http://[::1]:8085/")
[ "$body" = "hello from guest" ] || fail "TCP forward [::1]:8085 -> 10.0.2.100:80 returned '$body'"
body=$(curl -s -m 10 "http://127.0.0.1:8089/")
[ "$body" = "hello from guest" ] || fail "TCP forward 127.0.0.1:8089 -> [$guest6]:80 returned '$body'"
reply=$(udp_ask ::1 5307)
[ "$reply" = "echo:ping" ] || fail "UDP forward [::1]:5307 -> 10.0.2.100:5353 answered '$reply'"
list=$(api "$SOCK" '{"execute":"list_hostfwd"}')
expect "list shows the IPv6 addresses as given" grep -qF "\"host_addr\":\"::1\",\"host_port\":8086,\"guest_addr\":\"$guest6\"" <<<"$list"
body=$(curl -s -m 10 "http://[::1]:8086/")
[ "$body" = "hello from guest" ] || fail "TCP forward [::1]:8086 -> [$guest6]:80 returned '$body'"
body=$(curl -s -m 10 "http://[::1]:8084/")
[ "$body" = "hello from guest" ] || fail "TCP forward [::]:8084 -> [$guest6]:80 returned '$body'"

# The UDP echo above is IPv4-only; an IPv6 one for the v6 UDP forward.
udp_echo :: 5353 nsenter --target "$GUEST_PID" --net
reply=$(udp_ask ::1 5306)
[ "$reply" = "echo6:ping" ] || fail "UDP forward [::1]:5306 answered '$reply'"

# Removing stops the traffic: the host port is no longer there.
api "$SOCK" '{"execute":"remove_hostfwd","arguments":{"id":1}}' | grep -qx '{"return":{}}' || fail "remove failed"
expect_not "removed forward still answers" curl -s -m 3 http://127.0.0.1:8080/
api "$SOCK" '{"execute":"remove_hostfwd","arguments":{"id":4}}' | grep -qx '{"return":{}}' || fail "remove v6 failed"
expect_not "removed IPv6 forward still answers" curl -s -m 3 "http://[::1]:8086/"
body=$(curl -s -m 10 "http://[::1]:8084/")
[ "$body" = "hello from guest" ] || fail "the other IPv6 forward broke after a removal: '$body'"

stats=$(api "$SOCK" '{"execute":"get_stats"}')
python3 -c '
import json, sys
r = json.loads(sys.argv[1])["return"]
assert r["frames_to_guest"] > 3 and r["bytes_to_guest"] > 300, r  # the slirp forward :8086
assert r["active_forwards"] == 7, r' "$stats" || fail "stats after traffic: $stats"
pass "TCP, UDP, IPv6 forwards carry traffic; removal stops it"
