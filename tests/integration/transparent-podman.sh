#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Rootless podman with port_handler=slirp4netns, end to end: a client in
# another namespace (192.0.2.254) reaches the container through -p 18090:8080
# and -p 18091:7100/udp (0.0.0.0, added through our API, spliced by default),
# and the container sees the client's real address: busybox httpd's CGI
# REMOTE_ADDR for TCP, with a request body and a 1 MB page moved intact, and
# the UDP server in the container's namespace for UDP.
. "$(dirname "$0")/../lib.sh"

podman_setup
peer_network
PEER_PY=$WORK/transparent-peer.py
install -m 644 "$TESTS_DIR/integration/transparent-peer.py" "$PEER_PY"
mkdir -p "$ROOTFS/www/cgi-bin"
head -c 1000000 /dev/urandom >"$ROOTFS/www/big"
cat >"$ROOTFS/www/cgi-bin/echo" <<'CGI'
#!/bin/sh
printf 'Content-Type: application/octet-stream\r\n\r\n%s\n' "$REMOTE_ADDR"
[ -n "$CONTENT_LENGTH" ] && head -c "$CONTENT_LENGTH"
exit 0
CGI
chmod 755 "$ROOTFS/www/cgi-bin/echo"
chown -R "$TEST_USER:$TEST_USER" "$ROOTFS/www"

podman_run -d --name web -p 18090:8080 -p 18091:7100/udp --network slirp4netns:port_handler=slirp4netns -- \
    httpd -f -p 8080 -h /www >"$WORK/podman.out" 2>&1 || fail "podman run -d failed: $(cat "$WORK/podman.out")"
fetch() { in_peer curl -s -m 2 -o "$WORK/big.got" http://192.0.2.1:18090/big; }
wait_until 20 fetch || fail "nothing answered on 192.0.2.1:18090 from the peer"
cmp -s "$WORK/big.got" "$ROOTFS/www/big" || fail "the 1 MB page came back altered"

head -c 300000 /dev/urandom >"$WORK/body"
in_peer curl -s -m 20 --data-binary @"$WORK/body" -o "$WORK/echoed" http://192.0.2.1:18090/cgi-bin/echo ||
    fail "the CGI request failed"
line=$(head -n1 "$WORK/echoed")
seen=$(sed 's/^\[::ffff:\(.*\)\]$/\1/' <<<"$line")  # httpd listens on [::]
[ "$seen" = 192.0.2.254 ] || fail "the container saw the peer as '$seen', not 192.0.2.254"
tail -c +$((${#line} + 2)) "$WORK/echoed" | cmp -s - "$WORK/body" || fail "the request body came back altered"

pid=$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' web) || fail "podman inspect failed"
background nsenter --target "$pid" --net python3 "$PEER_PY" serve 7100
wait_until 10 sh -c "nsenter --target $pid --net ss -Hlun 'sport = :7100' | grep -q ." || fail "UDP server in the container did not start"
seen=$(in_peer timeout 30 python3 "$PEER_PY" udp 192.0.2.1 18091 1200) || fail "UDP through podman's forward lost data"
[ "$seen" = 192.0.2.254 ] || fail "the container's UDP server saw the peer as '$seen'"

call=$(grep -- "--api-socket" "$WORK/slirp-wrapper.argv") || fail "podman did not pass --api-socket"
api=$(sed 's/.*--api-socket \([^ ]*\).*/\1/' <<<"$call")
assert_daemons_are_ours "$api"
list=$(echo '{"execute":"list_hostfwd"}' | socat -t 5 - "UNIX-CONNECT:$api")
[ "$(grep -o '"mode":"splice"' <<<"$list" | wc -l)" = 2 ] || fail "podman's forwards are not both spliced: $list"
"${PODMAN[@]}" rm -f -t 0 web >/dev/null 2>&1 || fail "podman rm failed"
pass "podman port_handler=slirp4netns: the container saw 192.0.2.254 over TCP and UDP, data intact, forwards spliced"
