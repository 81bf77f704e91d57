#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fault: the guest floods its tap with garbage frames at full speed (random
# bytes, truncated headers, and the IPv4 fragments that crash libslirp 4.7.0,
# see ipv4_reassembly.hpp). get_stats shows that every frame the tap (or
# tc, for the UDP veth) took reached the daemon; the daemon stays up, its API answers every request
# during the flood (the client's 10 s timeout guards against a hang; the
# latency is logged, not judged), and the guest's network works afterwards.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
http_server 8000
start_guest
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"

cat >"$WORK/flood.py" <<'PY'
import os, random, socket, sys, time
import frames
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("tap0", 0))
eth = bytes.fromhex("525500000202") + s.getsockname()[4] + b"\x08\x00"
def fragment(off8, mf, ident):
    return eth + frames.ipv4(17, [10, 0, 2, 100], [10, 0, 2, 2], b"\0" * 16, ident=ident,
                             frag=(0x2000 if mf else 0) | off8)
rng = random.Random(8)
garbage = [fragment(3, 0, 1), fragment(3, 0, 2), fragment(1, 1, 3)]
for _ in range(200):
    kind = rng.randrange(3)
    if kind == 0:
        garbage.append(os.urandom(rng.randrange(1, 1515)))
    elif kind == 1:
        garbage.append(eth + os.urandom(rng.randrange(0, 60)))
    else:
        garbage.append(fragment(rng.randrange(1, 64), rng.randrange(2), rng.randrange(65536)))
deadline = time.time() + float(sys.argv[1])
sent = 0
while time.time() < deadline:
    for f in garbage:
        try:
            s.send(f)
            sent += 1
        except OSError:
            pass
print(sent)
PY
# frames_from_guest, and how many frames tap0 dropped for a full queue.
frames_in() {
    api "$SOCK" '{"execute":"get_stats"}' |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["return"]["frames_from_guest"])'
}
tap_dropped() {
    in_guest ip -s -j link show tap0 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["dropped"])'
}
before=$(frames_in) && dropped_before=$(tap_dropped) || fail "no statistics before the flood"
PYTHONPATH=$TESTS_DIR/integration in_guest python3 "$WORK/flood.py" 4 >"$WORK/sent" 2>&1 &
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
wait "$flood" || fail "the flooder failed: $(cat "$WORK/sent")"
sent=$(cat "$WORK/sent")
[ "$sent" -gt 0 ] 2>/dev/null || fail "the flooder sent nothing: $sent"
kill -0 "$SLIRP_PID" 2>/dev/null || fail "daemon died during the flood"
# Every frame the tap queued (sent, less what it dropped, and less what tc
# moved to the UDP veth's ring and the ring dropped: frame_ring.hpp) is read
# by the daemon; the guest's own frames (ARP, router solicitations) only add.
dropped=$(($(tap_dropped) - dropped_before + $(stats_field "$SOCK" kernel_udp_redirect_drops)))
queued=$((sent - dropped))
all_read() { [ $(($(frames_in) - before)) -ge "$queued" ]; }
wait_until 30 all_read ||
    fail "get_stats counted $(($(frames_in) - before)) frames from the guest, the tap queued $queued"
arrived=$(($(frames_in) - before))
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "HTTP after the flood returned '$body'"
assert_kernel_tcp "$SOCK"
pass "$sent garbage frames sent, $dropped dropped by the tap, $arrived counted by the daemon;\
 API answered throughout (worst $worst ms); network fine afterwards"
