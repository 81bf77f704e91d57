#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# rootlesskit v2/v3 with detach-netns: its exact command line (those versions
# are not packaged for Debian 12, so the call is reproduced). The child's
# user namespace and the detached network namespace exist first, tap0 is
# created and brought up in it beforehand, the daemon runs as the user in
# the initial user namespace, joins the child's user namespace by
# --userns-path, never gets -c, and the address is configured inside the
# namespace by the caller, as rootlesskit does. Sandboxed and under seccomp,
# it carries TCP and UDP (both ways) out, and TCP through a forward added on
# its API socket. (The original 1.2.0 dies in this shape with the sandbox
# on; that is logged.)
. "$(dirname "$0")/../lib.sh"

rootless_client_host
peer_network
peer_http_server "hello from outside"
udp_peer_server 192.0.2.254 7000 nsenter --target "$PEER_PID" --net --

# detached_child: a child user+network namespace with tap0 already up in it,
# as rootlesskit prepares it. Sets GUEST_PID.
detached_child() {
    start_guest_as_test_user
    pre_made_tap tap0 in_child
}

# rootlesskit_args PID SOCKET: rootlesskit's arguments for child PID.
rootlesskit_args() {
    ARGS=(--mtu 65520 -r 3 --disable-host-loopback --cidr 10.0.2.0/24 --api-socket "$2"
        --enable-sandbox --enable-seccomp --enable-ipv6 "--userns-path=/proc/$1/ns/user"
        --netns-type=path "/proc/$1/ns/net" tap0)
}

install -d -o "$TEST_USER" "$WORK/user"
as_user=(setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env --)

if original=$(original_slirp4netns); then
    detached_child
    rootlesskit_args "$GUEST_PID" "$WORK/user/original.sock"
    timeout 10 "${as_user[@]}" "$original" "${ARGS[@]}" 3>/dev/null >"$WORK/original.log" 2>&1
    status=$?
    if [ "$status" = 124 ]; then
        log "the original ran in rootlesskit's shape (it was expected to die at setegid(0))"
    else
        log "the original in rootlesskit's shape: status $status, $(grep -m1 -i "setegid\|error\|fail" "$WORK/original.log")"
    fi
fi

detached_child
API=$WORK/user/rootlesskit.sock
rootlesskit_args "$GUEST_PID" "$API"
SLIRP=$(slirp_launcher as-test-user "${as_user[@]}" "$SLIRP") start_client_slirp 3 - "${ARGS[@]}" ||
    fail "rootlesskit's command line did not start"
[ "$(ps -o user= -p "$SLIRP_PID")" = "$TEST_USER" ] || fail "daemon is not running as $TEST_USER"
assert_confined "$SLIRP_PID" 0000000000000000
expect "tap0 left unconfigured without -c" test -z "$(in_guest ip -o -4 addr show dev tap0)"

in_child ip link set tap0 mtu 65520 || fail "cannot set the MTU"
in_child ip addr add 10.0.2.100/24 dev tap0 || fail "cannot add the address"
in_child ip route add default via 10.0.2.2 dev tap0 || fail "cannot add the route"
body=$(in_guest curl -s -m 10 http://192.0.2.254:8080/)
[ "$body" = "hello from outside" ] || fail "the child fetched '$body' from outside"
assert_kernel_tcp "$API"
udp_round_trip 192.0.2.254 7000 1000 "rootlesskit's child"
assert_kernel_udp "$API" 1000

guest_http_server 8080 10.0.2.100 "served by the rootlesskit child"
# rootlesskit's port driver names the child's address.
API_CLIENT=api_as_test_user api_add "$API" \
    '"proto":"tcp","host_addr":"127.0.0.1","host_port":18091,"guest_addr":"10.0.2.100","guest_port":8080'
body=$(curl -s -m 10 http://127.0.0.1:18091/)
[ "$body" = "served by the rootlesskit child" ] || fail "the forward 127.0.0.1:18091 returned '$body'"

stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS on SIGTERM"
gone() { [ -z "$(our_processes)" ]; }
wait_until 10 gone || fail "processes left after SIGTERM: $(our_processes)"
[ -e "$API" ] && fail "API socket $API left behind"
pass "rootlesskit detach-netns shape: pre-made tap0, --userns-path, sandboxed; TCP and UDP out, TCP through 127.0.0.1:18091"
