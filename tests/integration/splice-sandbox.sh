#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Splice mode under --enable-sandbox --enable-seccomp, rootless (as podman runs it): the
# namespace helper is sandboxed like the daemon (its root holds only /etc and
# /run, no-new-privs, seccomp filter) and still opens connections in the namespace.
. "$(dirname "$0")/../lib.sh"

PEER="$TESTS_DIR/integration/splice-peer.py"
ensure_test_user
world_usable_tun
install -d -o "$TEST_USER" "$WORK/user"
SOCK=$WORK/user/api.sock
# Started directly (not through a shell function) so that $! is the guest.
setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env -- \
    unshare --user --map-root-user --net sh -c 'ip link set lo up; exec sleep 1000' &
GUEST_PID=$!
BACKGROUND_PIDS+=($GUEST_PID)
wait_until 5 guest_has_own_netns || fail "guest namespace did not appear"
SLIRP=$(slirp_launcher as-test-user setpriv --reuid="$TEST_USER" --regid="$TEST_USER" \
    --init-groups --reset-env -- "$SLIRP") start_slirp -c --enable-sandbox --enable-seccomp \
    --port-forward-mode=splice -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
splice_peer_servers

helper=$(pgrep -P "$SLIRP_PID" -x slirp4netns-fwd) || fail "no port-forwarding helper under the daemon"
[ "$(ps -o user= -p "$helper")" = "$TEST_USER" ] || fail "helper is not running as $TEST_USER"
[ "$(readlink /proc/$helper/ns/net)" = "$(readlink /proc/$GUEST_PID/ns/net)" ] ||
    fail "helper is not in the guest's network namespace"
expect "helper has no-new-privs" grep -q "^NoNewPrivs:.*1" /proc/$helper/status
expect "helper is under a seccomp filter" grep -q "^Seccomp:.*2" /proc/$helper/status
root=$(ls /proc/$helper/root/ | tr '\n' ' ')
[ "$root" = "etc run " ] || fail "helper's root holds '$root', not only etc and run"

reply=$(printf '%s' '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":17001,"guest_port":7001}}' |
    socat -t 5 - "UNIX-CONNECT:$SOCK")
grep -q '"id"' <<<"$reply" || fail "add_hostfwd answered '$reply'"
timeout 30 python3 "$PEER" half-close-up 127.0.0.1 17001 || fail "data through the sandboxed helper's socket"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
pass "rootless sandboxed helper opens forwarded connections"
