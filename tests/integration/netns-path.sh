#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --netns-type=path with a bind-mounted netns file and --userns-path, the way
# podman names a rootless container's namespaces. A user namespace that does
# not own the network namespace must be refused, proving the path is used.
. "$(dirname "$0")/../lib.sh"

http_server 8000
start_guest --user --map-root-user
touch "$WORK/netns"
mount --bind "/proc/$GUEST_PID/ns/net" "$WORK/netns" || fail "cannot bind-mount the netns file"
start_slirp -c -a "$WORK/api.sock" --netns-type=path --userns-path="/proc/$GUEST_PID/ns/user" "$WORK/netns" tap0 ||
    fail "did not start"
expect "tap0 has 10.0.2.100/24" grep -q "inet 10.0.2.100/24" <<<"$(in_guest ip -o -4 addr show dev tap0)"
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP through 10.0.2.2 returned '$body'"
assert_kernel_tcp "$WORK/api.sock"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"

# An unrelated user namespace has no say over the guest's network namespace.
unshare --user --map-root-user sleep 1000 &
OTHER_USERNS_PID=$!
BACKGROUND_PIDS+=($OTHER_USERNS_PID)
wait_until 5 sh -c "[ \"\$(readlink /proc/$OTHER_USERNS_PID/ns/user)\" != \"\$(readlink /proc/self/ns/user)\" ]" ||
    fail "second user namespace did not appear"
err=$(timeout 10 "$SLIRP" -c --netns-type=path --userns-path="/proc/$OTHER_USERNS_PID/ns/user" \
    "$WORK/netns" tap1 2>&1 >/dev/null)
status=$?
[ "$status" != 0 ] && [ "$status" != 124 ] || fail "a foreign --userns-path was accepted (status $status)"
expect "error names the network namespace" grep -q "network namespace" <<<"$err"
expect "no tap1 was created" test -z "$(in_guest ip -o link show dev tap1 2>/dev/null)"
umount "$WORK/netns"
pass "path + userns-path configured and reached the host; foreign userns refused: $err"
