#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# IPv4 datagrams larger than the MTU, which the guest sends as fragments, are
# put back together by the daemon (ipv4_reassembly.cpp) so that libslirp only
# ever sees whole datagrams. At MTU 1500: UDP datagrams of 1473 to 65507 bytes
# to a host echo service come back intact, and a 4000-byte ping of the gateway
# is answered. Hand-made fragments on the tap: a datagram whose last fragment
# comes first (the order that crashes libslirp 4.7.0) arrives; overlapping
# fragments and a datagram past 65535 bytes never do; the daemon stays up.
. "$(dirname "$0")/../lib.sh"

cat >"$WORK/echo.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 9001))
log = open(sys.argv[1], "a", buffering=1)
while True:
    data, peer = s.recvfrom(65535)
    tag = data[:8].decode() if data[:8].isalnum() else "-"
    log.write(f"{len(data)} {tag}\n")
    s.sendto(data, peer)
PY
cat >"$WORK/sizes.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for size in map(int, sys.argv[1:]):
    data = os.urandom(size)
    s.sendto(data, ("10.0.2.2", 9001))
    try:
        back, _ = s.recvfrom(65535)
    except socket.timeout:
        back = b""
    print(size, "ok" if back == data else f"got {len(back)} bytes", flush=True)
PY
# pieces.py builds its headers with the tests' shared frames.py.
export PYTHONPATH=$TESTS_DIR/integration
# Fragments of one UDP datagram to 10.0.2.2:9001 (checksum 0: none), sent in
# the given (offset, length) pieces straight onto the guest's tap.
cat >"$WORK/pieces.py" <<'PY'
import socket, struct, sys
import frames
tag, ident = sys.argv[1].encode(), int(sys.argv[2])
payload = (tag * 8)[:40]
datagram = struct.pack("!HHHH", 40000, 9001, 8 + len(payload), 0) + payload
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind(("tap0", 0))
eth = bytes.fromhex("525500000202") + sock.getsockname()[4] + b"\x08\x00"
for piece in sys.argv[3:]:
    offset, length, more = (int(x) for x in piece.split(":"))
    body = datagram[offset:offset + length] if offset < len(datagram) else b"\0" * length
    sock.send(eth + frames.ipv4(17, [10, 0, 2, 100], [10, 0, 2, 2], body, ident=ident,
                                frag=(0x2000 if more else 0) | offset // 8))
PY

background python3 "$WORK/echo.py" "$WORK/received"
wait_until 10 sh -c "ss -Hlun 'sport = :9001' | grep -q ." || fail "UDP echo server did not start"
start_guest
start_slirp -c "$GUEST_PID" tap0 || fail "did not start"

sizes="1473 4000 9000 20000 65507"
out=$(in_guest python3 "$WORK/sizes.py" $sizes)
log "$out"
for size in $sizes; do
    grep -qx "$size ok" <<<"$out" || fail "a $size-byte UDP datagram did not come back intact: $out"
done
ping_out=$(in_guest busybox ping -c 2 -W 2 -s 4000 10.0.2.2) || fail "a 4000-byte ping of the gateway failed: $ping_out"

# 8 bytes of UDP header and 40 of payload in two pieces of 24: the last first.
in_guest python3 "$WORK/pieces.py" LASTFRST 101 24:24:0 0:24:1 || fail "could not send fragments"
# Overlapping pieces (16..24 twice), then pieces reaching past 65535 bytes.
in_guest python3 "$WORK/pieces.py" OVERLAPS 102 0:24:1 16:32:0
in_guest python3 "$WORK/pieces.py" TOOLARGE 103 0:24:1 65512:24:0
# A good datagram after the bad ones: once it is echoed, they were handled.
in_guest python3 "$WORK/pieces.py" SENTINEL 104 0:24:1 24:24:0
wait_until 30 grep -q "^40 LASTFRST" "$WORK/received" ||
    fail "the datagram whose last fragment came first never arrived: $(cat "$WORK/received")"
wait_until 30 grep -q "^40 SENTINEL" "$WORK/received" ||
    fail "a well-formed datagram after the malformed ones never arrived: $(cat "$WORK/received")"
! grep -q "OVERLAPS\|TOOLARGE" "$WORK/received" ||
    fail "a malformed datagram was delivered: $(cat "$WORK/received")"
kill -0 "$SLIRP_PID" 2>/dev/null || fail "the daemon died on hand-made fragments"
out=$(in_guest python3 "$WORK/sizes.py" 4000)
[ "$out" = "4000 ok" ] || fail "a fragmented datagram after the malformed ones: $out"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "SIGTERM exit status $SLIRP_STATUS"

# Reassembly needs nothing the sandbox or the seccomp allowlist takes away.
start_slirp -c --enable-sandbox --enable-seccomp "$GUEST_PID" tap0 || fail "did not start confined"
out=$(in_guest python3 "$WORK/sizes.py" 65507)
[ "$out" = "65507 ok" ] || fail "confined: $out"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "confined: SIGTERM exit status $SLIRP_STATUS"
pass "UDP $sizes bytes echoed intact (65507 confined too); 4000-byte ping answered;\
 last-fragment-first delivered; overlapping and oversized fragments dropped"
