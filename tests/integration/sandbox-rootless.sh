#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Rootless (as podman and rootlesskit run it, but without their user
# namespace): the unprivileged daemon with --enable-sandbox --enable-seccomp
# joins the target's user namespace to build its sandbox, then holds no
# capability at all (CapEff, CapPrm, CapBnd empty). TCP, DNS and a port
# forward added through the API still work; SIGTERM exits 0. With no target
# namespace (BESS), it makes a user namespace of its own instead.
. "$(dirname "$0")/../lib.sh"

ensure_test_user
world_usable_tun
private_dns sandbox.test 127.9.9.9
http_server 8000
install -d -o "$TEST_USER" "$WORK/user"
SOCK=$WORK/user/api.sock
start_guest_as_test_user
SLIRP=$(slirp_launcher as-test-user setpriv --reuid="$TEST_USER" --regid="$TEST_USER" \
    --init-groups --reset-env -- "$SLIRP") start_slirp -c --enable-sandbox --enable-seccomp \
    -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
[ "$(ps -o user= -p "$SLIRP_PID")" = "$TEST_USER" ] || fail "daemon is not running as $TEST_USER"
assert_confined "$SLIRP_PID" 0000000000000000
[ "$(readlink "/proc/$SLIRP_PID/ns/user")" = "$(readlink "/proc/$GUEST_PID/ns/user")" ] ||
    fail "daemon did not join the guest's user namespace"
[ "$(readlink "/proc/$SLIRP_PID/ns/net")" = "$(readlink /proc/self/ns/net)" ] ||
    fail "daemon left the host side's network namespace"

body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "TCP to 10.0.2.2:8000 returned '$body'"
assert_kernel_tcp "$SOCK"
answer=$(dns_lookup sandbox.test 10.0.2.3)
[ "$answer" = 127.9.9.9 ] || fail "DNS through 10.0.2.3 answered '$answer'"

mkdir -p "$WORK/www"
echo "hello from guest" >"$WORK/www/index.html"
background nsenter --target "$GUEST_PID" --net python3 -m http.server 8081 --bind 10.0.2.100 \
    --directory "$WORK/www"
wait_until 10 in_guest sh -c 'ss -Hltn "sport = :8081" | grep -q .' || fail "guest server did not start"
reply=$(python3 "$TESTS_DIR/integration/api-client.py" "$SOCK" \
    '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":18081,"guest_port":8081}}')
grep -q '^{"return":{"id":1}}$' <<<"$reply" || fail "add_hostfwd answered '$reply'"
body=$(curl -s -m 10 http://127.0.0.1:18081/)
[ "$body" = "hello from guest" ] || fail "forward 127.0.0.1:18081 returned '$body'"

stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
expect "API socket removed on exit" test ! -e "$SOCK"

# No namespace to join (BESS mode): the daemon makes a user namespace of its
# own, mapping only its own uid, and confines itself the same way.
SLIRP=$(slirp_launcher as-test-user setpriv --reuid="$TEST_USER" --regid="$TEST_USER" \
    --init-groups --reset-env -- "$SLIRP") start_slirp --enable-sandbox --enable-seccomp \
    --target-type=bess "$WORK/user/bess.sock" || fail "did not start in BESS mode"
assert_confined "$SLIRP_PID" 0000000000000000
[ "$(readlink "/proc/$SLIRP_PID/ns/user")" != "$(readlink /proc/self/ns/user)" ] ||
    fail "BESS mode: daemon built its sandbox without a user namespace of its own"
map=$(awk '{print $1, $2, $3}' "/proc/$SLIRP_PID/uid_map")
[ "$map" = "$(id -u "$TEST_USER") $(id -u "$TEST_USER") 1" ] || fail "BESS mode: uid_map is '$map'"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "BESS mode: exit status $SLIRP_STATUS"
expect "BESS socket removed on exit" test ! -e "$WORK/user/bess.sock"
pass "as $TEST_USER in the guest's user namespace, no capabilities; TCP, DNS and a forward work; BESS mode in its own user namespace"
