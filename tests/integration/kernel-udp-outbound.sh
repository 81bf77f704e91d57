#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --outbound-addr / --outbound-addr6 with the kernel UDP path: a peer behind
# a veth sees the guest's UDP come from the chosen address, given as a
# literal or as an interface name, IPv4 and IPv6; so does a server on the
# host's loopback reached through the gateway, as libslirp binds every UDP
# socket it makes (udp_attach) to that address.
. "$(dirname "$0")/../lib.sh"

peer_network
udp_peer_server 192.0.2.254 7000 nsenter --target "$PEER_PID" --net --
udp_peer_server 2001:db8::fe 7000 nsenter --target "$PEER_PID" --net --
udp_peer_server 127.0.0.1 7001
udp_peer_server ::1 7001

# seen TARGET PORT WANT SLIRP_ARGS...: the guest asks TARGET:PORT which
# address it saw, with the daemon run with SLIRP_ARGS; fails unless WANT.
seen() {
    local target=$1 port=$2 want=$3 got
    shift 3
    start_guest
    start_slirp -c -6 -a "$WORK/api.sock" "$@" "$GUEST_PID" tap0 || fail "did not start with $*"
    [[ $target == *:* ]] && { wait_until 15 guest_has_ra_address || fail "no usable IPv6 address in the guest"; }
    got=$(udp_peer seen "$target" "$port")
    assert_kernel_udp "$WORK/api.sock"
    stop_slirp
    kill "$GUEST_PID" 2>/dev/null
    [ "$got" = "$want" ] || fail "$* : $target:$port saw '$got', not $want"
    log "$*: $target:$port saw $got"
}

seen 192.0.2.254 7000 192.0.2.1
seen 192.0.2.254 7000 192.0.2.2 --outbound-addr=192.0.2.2
seen 192.0.2.254 7000 192.0.2.3 --outbound-addr=s4n-d
seen 10.0.2.2 7001 192.0.2.2 --outbound-addr=192.0.2.2
seen 2001:db8::fe 7000 2001:db8::2 --outbound-addr6=2001:db8::2
seen 2001:db8::fe 7000 2001:db8::3 --outbound-addr6=s4n-d
seen fd00::2 7001 2001:db8::2 --outbound-addr6=2001:db8::2
pass "the peer and the host's loopback see the chosen source, by address and by interface name, IPv4 and IPv6"
