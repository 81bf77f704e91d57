#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The rootless path: an unprivileged user makes its own user+network
# namespace (unshare -U -r -n) and runs the daemon with -c, as podman and
# rootlesskit do; the guest reaches the host side's loopback service.
. "$(dirname "$0")/../lib.sh"

ensure_test_user
world_usable_tun
http_server 8000
install -d -o "$TEST_USER" "$WORK/user"
start_guest_as_test_user
SLIRP=$(slirp_launcher as-test-user setpriv --reuid="$TEST_USER" --regid="$TEST_USER" \
    --init-groups --reset-env -- "$SLIRP") start_slirp -c -a "$WORK/user/api.sock" "$GUEST_PID" tap0 || fail "did not start"
owner=$(ps -o user= -p "$SLIRP_PID")
[ "$owner" = "$TEST_USER" ] || fail "daemon runs as '$owner', not $TEST_USER"
expect "tap0 has 10.0.2.100/24" grep -q "inet 10.0.2.100/24" <<<"$(in_guest ip -o -4 addr show dev tap0)"
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through 10.0.2.2 returned '$body'"
assert_kernel_tcp "$WORK/user/api.sock"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
pass "as $TEST_USER: configured and reached the host"
