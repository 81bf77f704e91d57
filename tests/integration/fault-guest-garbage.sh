#!/bin/bash
# Fault: the guest floods its tap with garbage frames at full speed (random
# bytes, truncated headers, and the IPv4 fragments that crash libslirp 4.7.0,
# see ipv4_reassembly.hpp). The daemon stays up, its API answers every request
# within 100 ms during the flood, and the guest's network works afterwards.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
http_server 8000
start_guest
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"

cat >"$WORK/flood.py" <<'PY'
import os, random, socket, struct, sys, time
def csum(d):
    s = sum(struct.unpack("!10H", d))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("tap0", 0))
eth = bytes.fromhex("525500000202") + s.getsockname()[4] + b"\x08\x00"
def fragment(off8, mf, ident):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 16, ident, (0x2000 if mf else 0) | off8,
                     64, 17, 0, bytes([10, 0, 2, 100]), bytes([10, 0, 2, 2]))
    return eth + ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + b"\0" * 16
rng = random.Random(8)
frames = [fragment(3, 0, 1), fragment(3, 0, 2), fragment(1, 1, 3)]
for _ in range(200):
    kind = rng.randrange(3)
    if kind == 0:
        frames.append(os.urandom(rng.randrange(1, 1515)))
    elif kind == 1:
        frames.append(eth + os.urandom(rng.randrange(0, 60)))
    else:
        frames.append(fragment(rng.randrange(1, 64), rng.randrange(2), rng.randrange(65536)))
deadline = time.time() + float(sys.argv[1])
sent = 0
while time.time() < deadline:
    for f in frames:
        try:
            s.send(f)
            sent += 1
        except OSError:
            pass
print(sent)
PY
in_guest python3 "$WORK/flood.py" 4 >"$WORK/sent" 2>&1 &
flood=$!
sleep 0.5
worst=0
for i in $(seq 10); do
    out=$(python3 "$TESTS_DIR/integration/api-client.py" --time "$SOCK" '{"execute":"list_hostfwd"}') ||
        fail "API request $i got no reply during the flood"
    ms=$(tail -n 1 <<<"$out")
    ms=${ms%%.*}
    [ "$ms" -gt "$worst" ] && worst=$ms
    sleep 0.2
done
wait "$flood"
sent=$(cat "$WORK/sent")
kill -0 "$SLIRP_PID" 2>/dev/null || fail "daemon died during the flood"
# Under valgrind (make check-valgrind) everything runs ~20x slower.
limit=$((100 * ${S4N_TIME_SCALE:-1}))
[ "$worst" -le "$limit" ] || fail "API took $worst ms during the flood (limit $limit)"
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP after the flood returned '$body'"
pass "$sent garbage frames in 4 s; API worst $worst ms; network fine afterwards"
