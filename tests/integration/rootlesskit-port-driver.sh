#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# rootlesskit 1.1 with --net=slirp4netns and --port-driver=slirp4netns runs
# our binary (sandboxed, seccomp'd) for an unprivileged user: the child
# reaches a service on the host's loopback through 10.0.2.2, and the port it
# publishes (-p 127.0.0.1:18081:8080/tcp, added through our API socket)
# answers on the host.
. "$(dirname "$0")/../lib.sh"

command -v rootlesskit >/dev/null || skip "rootlesskit is not installed (make deps)"
rootless_client_host
logging_wrapper "$WORK/slirp-wrapper"
http_server 8000

child=$WORK/child
mkdir -p "$child/www"
echo "published by the rootlesskit child" >"$child/www/index.html"
cat >"$WORK/child.sh" <<CHILD
#!/bin/sh
ip -o -4 addr show dev tap0 >$child/addr
curl -s -m 10 http://10.0.2.2:8000/ >$child/page
echo \$? >$child/curl-status
exec busybox httpd -f -p 8080 -h $child/www
CHILD
chmod 755 "$WORK/child.sh"
chown -R "$TEST_USER:$TEST_USER" "$child"

rootlesskit_slirp4netns "$child" "$WORK/child.sh" 127.0.0.1:18081:8080/tcp
rk=$RK_PID

fetch() { curl -s -m 2 http://127.0.0.1:18081/ >"$WORK/page" && [ -s "$WORK/page" ]; }
if ! wait_until 20 fetch; then
    tail -n 20 "$WORK/rootlesskit.log"
    fail "published port 127.0.0.1:18081 never answered"
fi
[ "$(cat "$WORK/page")" = "published by the rootlesskit child" ] || fail "host fetched '$(cat "$WORK/page")'"
grep -q "inet 10.0.2.100/24" "$child/addr" || fail "child's tap0: $(cat "$child/addr")"
[ "$(cat "$child/curl-status")" = 0 ] || fail "child could not reach the host's loopback (curl $(cat "$child/curl-status"))"
[ "$(cat "$child/page")" = "hello from host" ] || fail "child fetched '$(cat "$child/page")'"

call=$(grep -- "--api-socket" "$WORK/slirp-wrapper.argv") || fail "rootlesskit did not run our daemon with an API socket: $(cat "$WORK/slirp-wrapper.argv")"
for flag in --enable-sandbox --enable-seccomp; do
    grep -q -- "$flag" <<<"$call" || fail "rootlesskit did not pass $flag: $call"
done
grep -q -- "--disable-host-loopback" <<<"$call" && fail "host loopback was disabled: $call"
api=$(sed 's/.*--api-socket \([^ ]*\).*/\1/' <<<"$call")
# The daemon (and any helper process it forked) is our binary.
assert_daemons_are_ours "$api"
assert_kernel_tcp "$api"

kill -TERM "$rk"
wait "$rk" 2>/dev/null
gone() { ! kill -0 $DAEMON_PIDS 2>/dev/null; }
wait_until 10 gone || fail "our daemon outlived rootlesskit"
pass "rootlesskit child reached the host's loopback; 127.0.0.1:18081 published through our API"
