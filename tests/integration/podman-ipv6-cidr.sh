#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Rootless podman 4.3 with enable_ipv6=true,mtu=1500,cidr=10.5.0.0/24: the
# container gets the addresses, route, MTU and resolver our daemon derives
# from them, and reaches the host's loopback over IPv4 and IPv6.
. "$(dirname "$0")/../lib.sh"

podman_setup
http_server 8000
http_server 8001 ::1

out=$(podman_run --network slirp4netns:enable_ipv6=true,mtu=1500,cidr=10.5.0.0/24,allow_host_loopback=true -- \
    sh -c 'echo "v4: $(wget -q -O - http://10.5.0.2:8000/)"
           # The SLAAC address needs a moment (router advertisement, DAD).
           for i in 1 2 3 4 5 6 7 8 9 10; do
               v6=$(wget -q -O - http://[fd00::2]:8001/) && break
               sleep 0.5
           done
           echo "v6: $v6"
           ip -o addr show dev tap0; ip -o link show dev tap0; ip route; cat /etc/resolv.conf' 2>&1) ||
    fail "container failed: $out"
log "$out"
grep -q "inet 10.5.0.100/24" <<<"$out" || fail "no 10.5.0.100/24: $out"
grep -q "inet6 fd00::[0-9a-f:]*/64 scope global" <<<"$out" || fail "no fd00::/64 address: $out"
grep -q "mtu 1500 " <<<"$out" || fail "MTU is not 1500: $out"
grep -q "default via 10.5.0.2 dev tap0" <<<"$out" || fail "no default route via 10.5.0.2: $out"
grep -q "^nameserver 10.5.0.3" <<<"$out" || fail "resolver is not 10.5.0.3: $out"
grep -qx "v4: hello from host" <<<"$out" || fail "host loopback over IPv4 failed: $out"
grep -qx "v6: hello from host" <<<"$out" || fail "host loopback over IPv6 (fd00::2) failed: $out"
call=$(grep -- "--netns-type=path" "$WORK/slirp-wrapper.argv")
for flag in --cidr=10.5.0.0/24 --mtu=1500 --enable-ipv6; do
    grep -q -- "$flag" <<<"$call" || fail "podman did not pass $flag: $call"
done
pass "cidr, mtu and IPv6 from podman's options"
