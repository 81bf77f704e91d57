#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Rootless podman 4.3 launches our binary as its network helper
# (--network-cmd-path): with allow_host_loopback=true the container reaches a
# service on the host's loopback through 10.0.2.2; by default (podman passes
# --disable-host-loopback) it cannot.
. "$(dirname "$0")/../lib.sh"

podman_setup
http_server 8000

out=$(podman_run --network slirp4netns:allow_host_loopback=true -- \
    sh -c 'ip -o -4 addr show dev tap0; wget -q -O - http://10.0.2.2:8000/' 2>&1) ||
    fail "container with allow_host_loopback=true failed: $out"
grep -q "inet 10.0.2.100/24" <<<"$out" || fail "tap0 not configured by our daemon: $out"
grep -qx "hello from host" <<<"$out" || fail "host page not fetched: $out"

# Not reachable means refused (a RST, or libslirp's ICMP unreachable), seen
# by wget as an error: a wget killed by the hang guard proves nothing.
out=$(podman_run --network slirp4netns -- \
    sh -c 'ip -o -4 addr show dev tap0; if timeout 60 wget -q -O - http://10.0.2.2:8000/; then echo REACHED; fi' 2>&1)
grep -q "inet 10.0.2.100/24" <<<"$out" || fail "tap0 not configured in the default run: $out"
grep -q "REACHED\|hello from host" <<<"$out" && fail "host loopback reachable without allow_host_loopback: $out"
log "default run: $(grep -i "wget" <<<"$out")"
grep -qiE "can't connect.*(refused|unreachable)" <<<"$out" ||
    fail "host loopback was not refused without allow_host_loopback: $out"

# Our binary, invoked the way podman 4.3 does: --help first to probe features,
# then one call per container.
argv=$WORK/slirp-wrapper.argv
[ "$(head -n1 "$argv")" = "--help" ] || fail "podman did not probe --help first: $(cat "$argv")"
runs=$(grep -c -- "--netns-type=path" "$argv")
[ "$runs" = 2 ] || fail "expected 2 daemon runs, log has $runs: $(cat "$argv")"
first=$(grep -m1 -- "--netns-type=path" "$argv")
second=$(grep -- "--netns-type=path" "$argv" | tail -n1)
for flag in --enable-sandbox --enable-seccomp --mtu=65520 "-c" "-e 3" "-r 4"; do
    grep -q -- " $flag " <<<" $first " || fail "podman's call lacks $flag: $first"
done
grep -q -- "--disable-host-loopback" <<<"$first" && fail "allow_host_loopback=true still passed --disable-host-loopback"
grep -q -- "--disable-host-loopback" <<<"$second" || fail "default run did not pass --disable-host-loopback: $second"
pass "podman ran our daemon: host loopback reachable only when allowed"
