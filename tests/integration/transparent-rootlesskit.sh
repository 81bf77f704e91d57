#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# rootlesskit with --net=slirp4netns --port-driver=slirp4netns (sandboxed,
# seccomp'd, unprivileged), end to end: a client in another namespace
# (192.0.2.254) reaches the child through -p 0.0.0.0:18092:8080/tcp and
# -p 0.0.0.0:18093:7100/udp, published through our API and spliced by
# default, and the child's servers see the client's real address, with the
# data intact both ways.
. "$(dirname "$0")/../lib.sh"

command -v rootlesskit >/dev/null || skip "rootlesskit is not installed (make deps)"
rootless_client_host
logging_wrapper "$WORK/slirp-wrapper"
# What the daemon says (rootlesskit does not show it).
sed -i "s|^exec .*|& 2>>$WORK/slirp.stderr|" "$WORK/slirp-wrapper"
: >"$WORK/slirp.stderr"
chmod 666 "$WORK/slirp.stderr"
peer_network

child=$WORK/child
mkdir -p "$child"
install -m 644 "$TESTS_DIR/integration/transparent-peer.py" "$child/peer.py"
cat >"$WORK/child.sh" <<CHILD
#!/bin/sh
exec python3 $child/peer.py serve 8080 $child/seen
CHILD
chmod 755 "$WORK/child.sh"
chown -R "$TEST_USER:$TEST_USER" "$child"

rootlesskit_slirp4netns "$child" "$WORK/child.sh" 0.0.0.0:18092:8080/tcp 0.0.0.0:18093:8080/udp
rk=$RK_PID

ask() { in_peer timeout 60 python3 "$child/peer.py" "$@"; }
if ! wait_until 20 ask tcp 192.0.2.1 18092 10 >/dev/null 2>&1; then
    tail -n 20 "$WORK/rootlesskit.log"
    fail "published port 18092 never answered the peer"
fi
seen=$(ask tcp 192.0.2.1 18092 1000000) || fail "TCP through rootlesskit's forward lost data"
[ "$seen" = 192.0.2.254 ] || fail "the child's TCP server saw the peer as '$seen'"
seen=$(ask udp 192.0.2.1 18093 1200) || fail "UDP through rootlesskit's forward lost data"
[ "$seen" = 192.0.2.254 ] || fail "the child's UDP server saw the peer as '$seen'"

call=$(grep -- "--api-socket" "$WORK/slirp-wrapper.argv") || fail "rootlesskit did not run our daemon with an API socket"
for flag in --enable-sandbox --enable-seccomp; do
    grep -q -- "$flag" <<<"$call" || fail "rootlesskit did not pass $flag: $call"
done
api=$(sed 's/.*--api-socket \([^ ]*\).*/\1/' <<<"$call")
assert_daemons_are_ours "$api"
list=$(echo '{"execute":"list_hostfwd"}' | socat -t 5 - "UNIX-CONNECT:$api")
[ "$(grep -o '"mode":"splice"' <<<"$list" | wc -l)" = 2 ] ||
    fail "rootlesskit's forwards are not both spliced: $list; daemon said: $(cat "$WORK/slirp.stderr")"

kill -TERM "$rk"
wait "$rk" 2>/dev/null
gone() { ! kill -0 $DAEMON_PIDS 2>/dev/null; }
wait_until 10 gone || fail "our daemon outlived rootlesskit"
pass "rootlesskit slirp4netns driver (sandboxed): the child saw 192.0.2.254 over TCP and UDP, data intact, forwards spliced"
