#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Rootless podman 4.3 publishes a port with port_handler=slirp4netns, which
# goes through our API socket (add_hostfwd): a server in the container answers
# on the host's 127.0.0.1:HOST_PORT, and on [::1]:HOST_PORT (podman asks for
# that with the default IPv4 guest address, which only splice mode can relay,
# so auto mode splices it). Removing the container ends our daemon.
# podman's default handler (rootlessport, no API socket) works with it too.
# The container's own TCP out goes through the kernel TCP path.
. "$(dirname "$0")/../lib.sh"

podman_setup
peer_network
peer_http_server "hello from outside"
mkdir -p "$ROOTFS/www"
echo "served from the container" >"$ROOTFS/www/index.html"
chown -R "$TEST_USER:$TEST_USER" "$ROOTFS/www"

podman_run -d --name web -p 127.0.0.1:18080:80 -p '[::1]:18081:80' --network slirp4netns:port_handler=slirp4netns -- \
    httpd -f -p 80 -h /www >"$WORK/podman.out" 2>&1 || fail "podman run -d failed: $(cat "$WORK/podman.out")"

fetch() { curl -s -m 2 http://127.0.0.1:18080/ >"$WORK/page" && [ -s "$WORK/page" ]; }
wait_until 15 fetch || fail "nothing answered on 127.0.0.1:18080"
[ "$(cat "$WORK/page")" = "served from the container" ] || fail "host fetched '$(cat "$WORK/page")'"

page6=$(curl -s -m 5 'http://[::1]:18081/')
[ "$page6" = "served from the container" ] || fail "host fetched '$page6' from [::1]:18081"

call=$(grep -- "--api-socket" "$WORK/slirp-wrapper.argv") || fail "podman did not pass --api-socket: $(cat "$WORK/slirp-wrapper.argv")"
api=$(sed 's/.*--api-socket \([^ ]*\).*/\1/' <<<"$call")
# The running daemon (and any helper it forked) is our binary, and its API
# shows podman's forward.
assert_daemons_are_ours "$api"
out=$(nsenter --target "$("${PODMAN[@]}" inspect -f '{{.State.Pid}}' web)" --net curl -s -m 10 http://192.0.2.254:8080/)
[ "$out" = "hello from outside" ] || fail "the container fetched '$out' from outside"
assert_kernel_tcp "$api"
list=$(echo '{"execute":"list_hostfwd"}' | socat -t 5 - "UNIX-CONNECT:$api")
grep -q '"host_port":18080' <<<"$list" || fail "list_hostfwd does not show podman's forward: $list"
grep -q '"guest_port":80' <<<"$list" || fail "list_hostfwd guest_port: $list"
grep -q '"host_addr":"::1","host_port":18081,.*"mode":"splice"' <<<"$list" ||
    fail "list_hostfwd does not show the [::1] forward spliced: $list"

"${PODMAN[@]}" rm -f -t 0 web >/dev/null 2>&1 || fail "podman rm failed"
gone() { ! kill -0 $DAEMON_PIDS 2>/dev/null; }
wait_until 10 gone || fail "our daemon outlived its container"
# The daemon is gone, so the port must be refused (curl exit 7), not merely
# silent: a timeout (28) would hide a listener left behind.
curl -s -m 30 http://127.0.0.1:18080/ >/dev/null
status=$?
[ "$status" = 7 ] || fail "port 18080 not refused after the container is gone (curl exit $status)"
[ -e "$api" ] && fail "API socket $api left behind"

podman_run -d --name web2 -p 127.0.0.1:18082:80 --network slirp4netns -- \
    httpd -f -p 80 -h /www >"$WORK/podman.out" 2>&1 || fail "podman run -d (rootlessport) failed: $(cat "$WORK/podman.out")"
fetch2() { curl -s -m 2 http://127.0.0.1:18082/ >"$WORK/page" && [ -s "$WORK/page" ]; }
wait_until 15 fetch2 || fail "nothing answered on 127.0.0.1:18082 (podman's default port handler)"
[ "$(cat "$WORK/page")" = "served from the container" ] || fail "host fetched '$(cat "$WORK/page")' via rootlessport"
[ "$(grep -c -- "--netns-type=path" "$WORK/slirp-wrapper.argv")" = 2 ] || fail "second container did not run our daemon"
pass "port_handler=slirp4netns published 127.0.0.1:18080 and [::1]:18081 (spliced) through our API; rootlessport published 127.0.0.1:18082"
