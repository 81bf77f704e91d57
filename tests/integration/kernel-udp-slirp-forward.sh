#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A slirp-mode UDP forward keeps working with the kernel UDP path: libslirp
# owns the host socket of the forward, so the guest's answers from the
# forwarded port must reach libslirp (they go to the gateway, which the
# kernel UDP path would otherwise take and send from a socket of its own,
# from the wrong port). Other guest ports take the kernel UDP path
# meanwhile (test_kernel_udp shows the port coming back once the forward
# goes).
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
udp_echo 127.0.0.1 7001
start_guest
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
udp_echo 0.0.0.0 5353 nsenter --target "$GUEST_PID" --net
api_add "$SOCK" '"proto":"udp","host_addr":"127.0.0.1","host_port":5300,"guest_port":5353,"mode":"slirp"'
for try in 1 2 3; do
    reply=$(udp_ask 127.0.0.1 5300)
    [ "$reply" = "echo:ping" ] || fail "slirp-mode UDP forward 127.0.0.1:5300, round $try, answered '$reply'"
done
taken=$(stats_field "$SOCK" kernel_udp_datagrams_from_guest)
[ "$taken" = 0 ] || fail "the kernel UDP path took $taken of the forward's answers"

reply=$(in_guest python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5354))
s.settimeout(1)
for _ in range(5):
    s.sendto(b"ping", ("10.0.2.2", 7001))
    try:
        print(s.recv(2048).decode())
        break
    except socket.timeout:
        pass')
[ "$reply" = "echo:ping" ] || fail "from another guest port, the gateway's echo answered '$reply'"
assert_kernel_udp "$SOCK"
pass "the slirp-mode forward's answers stayed libslirp's; other ports took the kernel UDP path"
