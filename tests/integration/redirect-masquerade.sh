#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Rootless Docker's shape: rootlesskit makes tap0 in its child's namespaces
# (the test user's) and runs exactly `slirp4netns --mtu 65520 -r 3
# --disable-host-loopback --api-socket S --enable-sandbox --enable-seccomp
# PID tap0`; dockerd then makes its bridge (docker0, 172.17.0.1/16) and NAT
# rules inside that namespace, and a container behind docker0 reaches an
# outside peer by TCP. Its traffic is masqueraded out of tap0 and comes back
# in through tap0, as the namespace's own netfilter counts it (FORWARD's
# policy is DROP, as Docker sets it: what does not come in through tap0
# dies), arrives intact both ways, and goes kernel to kernel.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

# The full path: the test user's PATH lacks /usr/sbin.
IPTABLES=$(command -v iptables) || skip "iptables is not installed (make deps)"
BYTES=$((16 << 20))

rootless_client_host
peer_network
tcp_peer_server "$WORK/peer.log" 192.0.2.254 nsenter --target "$PEER_PID" --net
peer_whoami_server 9001
install -d -o "$TEST_USER" "$WORK/user"
SOCK=$WORK/user/docker.sock

# rootlesskit: the child's namespaces and tap0, then the daemon, then tap0's
# configuration.
start_guest_as_test_user
pre_made_tap tap0 in_child
SLIRP=$(slirp_launcher as-test-user setpriv --reuid="$TEST_USER" --regid="$TEST_USER" \
    --init-groups --reset-env -- "$SLIRP") start_client_slirp 3 - --mtu 65520 -r 3 \
    --disable-host-loopback --api-socket "$SOCK" --enable-sandbox --enable-seccomp "$GUEST_PID" tap0 ||
    fail "rootless Docker's command line did not start"
in_child ip link set tap0 mtu 65520 || fail "cannot set tap0's MTU"
guest_tap_config tap0 in_child
wait_redirect "$SOCK" tap0 "rootless Docker"

# dockerd: docker0, forwarding, its NAT and FORWARD rules, and counting rules
# ahead of them for what crosses tap0.
in_child ip link add docker0 type bridge || fail "cannot make docker0"
in_child ip addr add 172.17.0.1/16 dev docker0
in_child ip link set docker0 up
in_child sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' || fail "cannot turn forwarding on"
in_child "$IPTABLES" -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE ||
    fail "cannot add the MASQUERADE rule"
in_child "$IPTABLES" -P FORWARD DROP
in_child "$IPTABLES" -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT ||
    fail "cannot add the conntrack rule"
in_child "$IPTABLES" -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
in_child "$IPTABLES" -I FORWARD 1 -i tap0 -o docker0
in_child "$IPTABLES" -I FORWARD 1 -i docker0 -o tap0

# A container: its own network namespace in the child's user namespace,
# eth0 on docker0.
setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env -- \
    nsenter --target "$GUEST_PID" --user --net --preserve-credentials -- \
    unshare --net sh -c 'ip link set lo up; exec sleep 1000' &
CONTAINER_PID=$!
BACKGROUND_PIDS+=($CONTAINER_PID)
in_container() { as_test_user nsenter --target "$CONTAINER_PID" --user --net --preserve-credentials -- "$@"; }
container_up() { [ "$(readlink "/proc/$CONTAINER_PID/ns/net")" != "$(readlink "/proc/$GUEST_PID/ns/net")" ]; }
wait_until 5 container_up || fail "the container's namespace did not appear"
in_child ip link add veth-c type veth peer name eth0 netns "$CONTAINER_PID" || fail "cannot make the container's veth"
in_child ip link set veth-c master docker0 up
in_container ip addr add 172.17.0.2/16 dev eth0
in_container ip link set eth0 up
in_container ip route add default via 172.17.0.1 || fail "cannot route the container through docker0"

# counted IN OUT: "PACKETS BYTES" of the counting rule for IN -> OUT.
counted() {
    in_child "$IPTABLES" -S FORWARD -v | sed -n "s/^-A FORWARD -i $1 -o $2 -c \([0-9]*\) \([0-9]*\)$/\1 \2/p"
}

seen=$(in_container socat -T 10 -u TCP:192.0.2.254:9001 - 2>&1)
[ "$seen" = 192.0.2.1 ] || fail "the peer's whoami answered the container with '$seen'"
before=$(daemon_frame_bytes "$SOCK")
round_trip 192.0.2.254 "$WORK/peer.log" "$BYTES" container in_container
assert_data_path "$SOCK" "$before" $((2 * BYTES)) container
assert_kernel_tcp "$SOCK" 3

read -r out_packets out_bytes <<<"$(counted docker0 tap0)"
read -r in_packets in_bytes <<<"$(counted tap0 docker0)"
log "FORWARD counted docker0 -> tap0: $out_packets packets, $out_bytes bytes; tap0 -> docker0: $in_packets packets, $in_bytes bytes"
[ "${out_bytes:-0}" -ge "$BYTES" ] || fail "netfilter saw ${out_bytes:-no} bytes leave through tap0, for a $BYTES-byte upload"
[ "${in_bytes:-0}" -ge "$BYTES" ] || fail "netfilter saw ${in_bytes:-no} bytes come in through tap0, for a $BYTES-byte download"
masqueraded=$(in_child "$IPTABLES" -t nat -S POSTROUTING -v | sed -n 's/^-A POSTROUTING -s 172.17.0.0\/16 ! -o docker0 -c \([0-9]*\) [0-9]* -j MASQUERADE$/\1/p')
[ "${masqueraded:-0}" -ge 3 ] || fail "MASQUERADE took ${masqueraded:-no} connections, expected >= 3"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
pass "a container behind docker0, masqueraded out of tap0 (${masqueraded} connections), $BYTES bytes each way intact, kernel to kernel"
