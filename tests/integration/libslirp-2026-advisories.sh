#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# libslirp's 2026 advisories that Debian 12's libslirp 4.7.0 carries and no
# fence covers, tried as the daemon configures libslirp (doc/libslirp-audit.md).
# CVE-2026-95508, DHCPv6: libslirp builds its reply in a buffer the size of
# the interface MTU; a 256-byte client id echoed back with the DNS and boot
# URL options needs 391 bytes, so a small MTU overflows the heap. IPv6 here
# needs an MTU of at least 1280: at 1280 the largest request is answered,
# and the sanitizer build reports nothing. Debian's slirp4netns 1.2.0 takes
# --enable-ipv6 --mtu=300: with ASan preloaded into it, the same kind of
# request (raw, as a guest may send it) overflows its heap, which shows the
# probe finds the harm where the configuration allows it.
# CVE-2026-95508, TFTP: the overflow needs a file being served; no TFTP root
# is configured, so a request with a blksize option at the smallest MTU (68)
# only gets "Access violation".
# NC-SI OEM commands (the other 4.9.5 fix): the linked 4.7.0 has no OEM
# handler; an OEM command gets the unknown-command reply, no payload.
# 4.9.4's "reporting oob output": a host peer's urgent data, through a
# slirp-mode forward to the guest, arrives intact (and, in the sanitizer
# build, without a report).
. "$(dirname "$0")/../lib.sh"
export PYTHONPATH=$TESTS_DIR/integration
probe() { in_guest python3 "$TESTS_DIR/integration/libslirp-2026-advisories.py" "$@"; }

start_guest
start_slirp -c -6 --mtu=300 "$GUEST_PID" tap0 &&
    fail "--enable-ipv6 --mtu=300 was accepted: the DHCPv6 reply would overflow libslirp 4.7.0's buffer"
grep -q "IPv6 needs an MTU of at least 1280" "$WORK/slirp.log" ||
    fail "--enable-ipv6 --mtu=300 refused without the expected line: $(cat "$WORK/slirp.log")"

start_slirp -c -6 --mtu=1280 "$GUEST_PID" tap0 || fail "did not start with IPv6 at MTU 1280"
out=$(probe dhcpv6 256)
log "DHCPv6, 256-byte client id, MTU 1280: $out"
[ "$out" = "reply 343 echoed" ] || fail "the largest DHCPv6 request got '$out', want its 343-byte reply"
kill -0 "$SLIRP_PID" 2>/dev/null || fail "the daemon died on a DHCPv6 request"
stop_slirp

start_slirp -c --mtu=68 "$GUEST_PID" tap0 || fail "did not start at MTU 68"
out=$(probe tftp)
log "TFTP read request with blksize, MTU 68: $out"
[ "$out" = "error 2 Access violation" ] || fail "a TFTP request got '$out', want the refusal"
if "$SLIRP" --version | grep -qx "libslirp: 4\.7\..*"; then
    out=$(probe ncsi 0x50)
    log "NC-SI OEM command: $out"
    [ "$out" = "reply 0xd0 0" ] || fail "an NC-SI OEM command got '$out': libslirp 4.7.0 has an OEM handler after all"
fi
kill -0 "$SLIRP_PID" 2>/dev/null || fail "the daemon died on TFTP or NC-SI"
stop_slirp

start_slirp -c -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start with an API socket"
probe urgent-listen >"$WORK/urgent.out" 2>&1 &
listener=$!
BACKGROUND_PIDS+=($listener)
wait_until 10 in_guest sh -c "ss -Hltn 'sport = :8080' | grep -q ." || fail "the guest's listener did not start"
api_add "$WORK/api.sock" '"proto":"tcp","host_addr":"127.0.0.1","host_port":18080,"guest_port":8080,"mode":"slirp"'
python3 "$TESTS_DIR/integration/libslirp-2026-advisories.py" urgent-send 18080 ||
    fail "could not send urgent data to the guest"
wait "$listener"
out=$(cat "$WORK/urgent.out")
log "a host peer's urgent data to the guest: $out"
[ "$out" = "21000 exact" ] || fail "the guest received '$out' of a host peer's 21000 bytes with urgent data"
stop_slirp

asan=$(gcc -print-file-name=libasan.so 2>/dev/null)
[ -f "$asan" ] && [ -x /usr/bin/slirp4netns ] ||
    pass "DHCPv6 at the smallest IPv6 MTU, TFTP at MTU 68 and urgent data to the guest handled safely (no libasan to show the harm in Debian's slirp4netns)"
# A 232-byte client id makes the largest request a 300-byte MTU admits; the
# guest raises its tap's MTU (the kernel takes IPv6 off a link under 1280).
rm -f "$WORK/ready"
mkfifo "$WORK/ready"
ASAN_OPTIONS=detect_leaks=0:log_path=$WORK/original-asan LD_PRELOAD=$asan \
    /usr/bin/slirp4netns --ready-fd=9 -c -6 --mtu=300 "$GUEST_PID" tap0 9>"$WORK/ready" \
    >"$WORK/original.log" 2>&1 &
original=$!
BACKGROUND_PIDS+=($original)
[ "$(timeout 10 cat "$WORK/ready")" = 1 ] || fail "Debian's slirp4netns did not start: $(cat "$WORK/original.log")"
in_guest ip link set tap0 mtu 1500
probe dhcpv6-raw 232 || fail "could not send the raw DHCPv6 request"
wait_until 10 sh -c "! kill -0 $original 2>/dev/null" ||
    fail "Debian's slirp4netns with IPv6 at MTU 300 survived the DHCPv6 request: the probe shows no harm"
grep -q "heap-buffer-overflow" "$WORK"/original-asan.* ||
    fail "Debian's slirp4netns died without a heap overflow report: $(cat "$WORK"/original-asan.* 2>/dev/null | head -5)"
rm -f "$WORK"/original-asan.*
pass "IPv6 under MTU 1280 refused; DHCPv6 with a 256-byte client id at MTU 1280 answered (343 bytes);\
 TFTP at MTU 68 refused; urgent data to the guest intact; Debian's slirp4netns at MTU 300 overflows its heap on the same request"
