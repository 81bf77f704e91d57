#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The DNS forwarder (dns_forwarder.hpp) where libslirp's fails: a black-hole
# first nameserver (answered through the second, which is asked first from
# then on), an IPv6-only nameserver for 10.0.2.3 (and an IPv4-only one for
# fd00::3, over UDP and TCP), a stub on 127.0.0.53 under
# --disable-host-loopback, a truncated answer and the same query over TCP
# (also under --enable-sandbox --enable-seccomp),
# SERVFAIL with no usable nameserver (empty resolv.conf, all refusing),
# `options rotate` honoured, and
# --tcp-path=slirp leaving DNS to libslirp. Each case runs against Debian's
# original slirp4netns too: what it gives is logged, never judged.
. "$(dirname "$0")/../lib.sh"

[ "${S4N_TCP_PATH:-}" = slirp ] && skip "DNS is libslirp's with --tcp-path=slirp (the last case shows it)"
ORIGINAL=$(original_slirp4netns) || ORIGINAL=
OURS=$SLIRP
SOCK=$WORK/api.sock

echo "# private" >"$WORK/resolv.conf"
mount --bind "$WORK/resolv.conf" /etc/resolv.conf
resolv() { printf '%s\n' "$@" >"$WORK/resolv.conf"; }

# run BINARY ARGS...: a fresh guest and a daemon (ours with an API socket).
run() {
    local binary=$1
    shift
    start_guest
    [ "$binary" = "$OURS" ] && set -- --api-socket "$SOCK" "$@"
    SLIRP=$binary start_slirp -c "$@" "$GUEST_PID" tap0 || fail "$binary $* did not start"
}
# original CASE ARGS -- ASK...: logs what the original gives for the case.
original() {
    local what=$1 args=() got
    shift
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    shift
    [ -n "$ORIGINAL" ] || return 0
    run "$ORIGINAL" "${args[@]}"
    got=$(dns_ask "$@")
    stop_slirp
    log "original slirp4netns, $what: $got"
}

peer_network
in_peer ip addr add 192.0.2.253/24 dev s4n-p
PEER="nsenter --target $PEER_PID --net"

# 1. The first nameserver never answers, the second does.
dns_server silent 192.0.2.253 0.0.0.0 $PEER
dns_server answer 192.0.2.254 198.51.100.1 $PEER
resolv "options timeout:1 attempts:2" "nameserver 192.0.2.253" "nameserver 192.0.2.254"
run "$OURS"
start=$(date +%s%N)
got=$(dns_ask 10.0.2.3 first.test)
took=$(ms_since "$start")
[ "$got" = 198.51.100.1 ] || fail "black hole first: the guest got '$got'"
for i in 1 2 3; do
    got=$(dns_ask 10.0.2.3 again$i.test)
    [ "$got" = 198.51.100.1 ] || fail "black hole first, query $((i + 1)): the guest got '$got'"
done
[ "$(dns_queries 192.0.2.253)" = 1 ] ||
    fail "the black hole got $(dns_queries 192.0.2.253) queries: the server that answered is not asked first"
[ "$(stats_field "$SOCK" dns_failovers)" = 1 ] ||
    fail "dns_failovers is $(stats_field "$SOCK" dns_failovers), want 1"
stop_slirp
log "black hole first: answered in $took ms (timeout:1), then at once from the second"
original "black hole first" -- 10.0.2.3 first.test

# 2. Only an IPv6 nameserver; the guest asks 10.0.2.3.
dns_server answer 2001:db8::fe 198.51.100.2 $PEER
resolv "nameserver 2001:db8::fe"
run "$OURS"
got=$(dns_ask 10.0.2.3 six.test)
[ "$got" = 198.51.100.2 ] || fail "IPv6-only nameserver: 10.0.2.3 gave '$got'"
stop_slirp
original "IPv6-only nameserver, 10.0.2.3" -- 10.0.2.3 six.test

# 2b. The other way round: only an IPv4 nameserver, the guest asks fd00::3,
# over UDP and over TCP.
resolv "nameserver 192.0.2.254"
run "$OURS" --enable-ipv6
wait_until 15 guest_has_ra_address || fail "no fd00::/64 address: $(in_guest ip -o -6 addr)"
got=$(dns_ask fd00::3 four.test udp)/$(dns_ask fd00::3 four.test tcp)
[ "$got" = 198.51.100.1/198.51.100.1 ] || fail "IPv4-only nameserver: fd00::3 gave '$got' (UDP/TCP)"
stop_slirp

# 3. A stub resolver on the host's loopback, --disable-host-loopback.
dns_server answer 127.0.0.53 198.51.100.3
resolv "nameserver 127.0.0.53"
run "$OURS" --disable-host-loopback
got=$(dns_ask 10.0.2.3 stub.test)
[ "$got" = 198.51.100.3 ] || fail "stub on 127.0.0.53 with --disable-host-loopback gave '$got'"
stop_slirp
original "stub on 127.0.0.53, --disable-host-loopback" --disable-host-loopback -- 10.0.2.3 stub.test

# 4. A truncated answer over UDP, then the same query over TCP.
dns_server truncate 192.0.2.1 198.51.100.4
resolv "nameserver 192.0.2.1"
run "$OURS"
got=$(dns_ask 10.0.2.3 big.test udp)
[ "$got" = "rcode 0 tc" ] || fail "a truncated answer reached the guest as '$got'"
got=$(dns_ask 10.0.2.3 big.test tcp)
[ "$got" = 198.51.100.4 ] || fail "the same query over TCP gave '$got'"
grep -q "^tcp big.test" "$WORK/dns-192.0.2.1.log" || fail "the nameserver saw no TCP query"
stop_slirp
run "$OURS" --enable-sandbox --enable-seccomp
got=$(dns_ask 10.0.2.3 big.test udp)/$(dns_ask 10.0.2.3 big.test tcp)
[ "$got" = "rcode 0 tc/198.51.100.4" ] || fail "sandbox and seccomp: UDP, then TCP gave '$got'"
stop_slirp
original "truncated, then TCP" -- 10.0.2.3 big.test tcp

# 5. No usable nameserver: an empty resolv.conf (127.0.0.1, where nothing
# listens), and nameservers that all refuse.
resolv ""
run "$OURS"
start=$(date +%s%N)
got=$(dns_ask 10.0.2.3 offline.test)
took=$(ms_since "$start")
[ "$got" = "rcode 2" ] || fail "with an empty resolv.conf the guest got '$got', not SERVFAIL"
stop_slirp
log "empty resolv.conf: SERVFAIL in $took ms"
original "empty resolv.conf" -- 10.0.2.3 offline.test
dns_server refuse 192.0.2.2 0.0.0.0
dns_server refuse 2001:db8::2 0.0.0.0
resolv "nameserver 192.0.2.2" "nameserver 2001:db8::2"
run "$OURS"
start=$(date +%s%N)
got=$(dns_ask 10.0.2.3 refused.test)
took=$(ms_since "$start")
[ "$got" = "rcode 2" ] || fail "with every nameserver refusing the guest got '$got', not SERVFAIL"
[ "$(dns_queries 192.0.2.2)" -ge 1 ] && [ "$(dns_queries 2001:db8::2)" -ge 1 ] ||
    fail "not every refusing nameserver was asked"
[ "$(stats_field "$SOCK" dns_servfails)" = 1 ] || fail "dns_servfails is not 1"
stop_slirp
log "all refusing: SERVFAIL in $took ms"
original "all nameservers refusing" -- 10.0.2.3 refused.test

# 5b. Two nameservers that answer: without `rotate` the first gets every
# query, with it they take turns.
dns_server answer 127.0.0.21 198.51.100.21
dns_server answer 127.0.0.22 198.51.100.22
resolv "nameserver 127.0.0.21" "nameserver 127.0.0.22"
run "$OURS"
for i in 1 2 3 4; do dns_ask 10.0.2.3 plain$i.test >/dev/null; done
[ "$(dns_queries 127.0.0.21)/$(dns_queries 127.0.0.22)" = 4/0 ] ||
    fail "without rotate the nameservers got $(dns_queries 127.0.0.21)/$(dns_queries 127.0.0.22) queries, want 4/0"
stop_slirp
resolv "options rotate" "nameserver 127.0.0.21" "nameserver 127.0.0.22"
run "$OURS"
for i in 1 2 3 4; do dns_ask 10.0.2.3 rotate$i.test >/dev/null; done
[ "$(dns_queries 127.0.0.21)/$(dns_queries 127.0.0.22)" = 6/2 ] ||
    fail "with rotate the nameservers got $(dns_queries 127.0.0.21)/$(dns_queries 127.0.0.22) queries in all, want 6/2"
stop_slirp

# 6. --tcp-path=slirp: DNS is libslirp's, as in the original.
: >"$WORK/dns-192.0.2.253.log"
resolv "options timeout:1" "nameserver 192.0.2.253" "nameserver 192.0.2.254"
run "$OURS" --tcp-path=slirp
[ "$(stats_field "$SOCK" dns_forwarder)" = False ] || fail "--tcp-path=slirp still runs the forwarder"
got=$(dns_ask 10.0.2.3 slirp.test)
[ "$(dns_queries 192.0.2.253)" -ge 1 ] || fail "--tcp-path=slirp: libslirp did not ask the first nameserver"
stop_slirp
log "--tcp-path=slirp, black hole first: $got (libslirp's)"
pass "failover, IPv6-only, loopback stub, TC then TCP, SERVFAIL offline; slirp path unchanged"
