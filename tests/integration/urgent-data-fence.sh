#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A guest segment with a crafted TCP urgent pointer (1000, with 10 bytes of
# data) to a host peer through libslirp. libslirp 4.7.0 would send the peer
# 1000 bytes as urgent data, 990 of them never sent by the guest, then its
# byte count wraps and it streams its buffer to the peer (the bug fixed in
# libslirp 4.9.2, see urgent_data_fence.hpp). With the fence the peer gets
# exactly the guest's 10 bytes. The sanitizer build also runs with the fence
# switched off (S4N_TEST_UNFENCED, which only that build reads) and shows
# the peer receiving what the guest never sent. The fence is in front of
# libslirp's TCP, so those runs pin --tcp-path=slirp; over the kernel TCP
# path (the default), which libslirp's TCP never sees, the peer gets exactly
# the guest's bytes too.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

PORT=8765
# The host peer: prints how many bytes arrived (urgent ones inline) and
# whether they were exactly the guest's; stops at 1 MiB or 3 s of silence.
cat >"$WORK/peer.py" <<'PY'
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(1)
conn, _ = srv.accept()
conn.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
conn.settimeout(3)
got = b""
try:
    while len(got) < 1 << 20:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += chunk
except (socket.timeout, ConnectionResetError):
    pass
print(len(got), "exact" if got == b"GUESTDATA!" else "other", flush=True)
PY

# run_case LABEL DAEMON_ARGS...: one daemon, one connection; sets RESULT to
# what the peer printed.
run_case() {
    local label=$1
    shift
    rm -f "$WORK/peer.out"
    python3 "$WORK/peer.py" "$PORT" >"$WORK/peer.out" 2>&1 &
    local peer=$!
    BACKGROUND_PIDS+=($peer)
    wait_until 10 port_is_listening "$PORT" || fail "$label: the host peer did not start"
    start_guest
    start_slirp -c -a "$WORK/api.sock" "$@" "$GUEST_PID" tap0 || fail "$label: did not start"
    in_guest timeout 60 python3 "$TESTS_DIR/integration/urgent-data-fence.py" "$PORT" 1000 \
        >"$WORK/guest.out" 2>&1 || fail "$label: the guest client failed: $(cat "$WORK/guest.out")"
    # A hang guard, not a timing check: the peer ends 3 s after its last byte.
    timeout 60 tail --pid="$peer" -f /dev/null || fail "$label: the host peer never finished"
    RESULT=$(cat "$WORK/peer.out")
    log "$label: the peer received: $RESULT"
    kill -0 "$SLIRP_PID" 2>/dev/null || fail "$label: the daemon died"
    [ "$(stats_field "$WORK/api.sock" kernel_tcp_total)" = "$WANT_KERNEL" ] ||
        fail "$label: the kernel TCP path took $(stats_field "$WORK/api.sock" kernel_tcp_total) connections, want $WANT_KERNEL"
    stop_slirp
}

WANT_KERNEL=1 run_case "kernel TCP path"
[ "$RESULT" = "10 exact" ] || fail "over the kernel TCP path the peer received '$RESULT', want the guest's 10 bytes"
WANT_KERNEL=0 run_case fenced --tcp-path=slirp
[ "$RESULT" = "10 exact" ] || fail "with the fence the peer received '$RESULT', want the guest's 10 bytes"
fenced=$RESULT

if [ -z "${S4N_SANITIZED:-}" ]; then
    pass "the peer received exactly the guest's 10 bytes, over the kernel TCP path and through the fence (the unfenced run needs the sanitizer build)"
fi
export S4N_TEST_UNFENCED=urgent-data
WANT_KERNEL=0 run_case unfenced --tcp-path=slirp
unset S4N_TEST_UNFENCED
read -r bytes kind <<<"$RESULT"
[ "$kind" = other ] && [ "${bytes:-0}" -gt 10 ] ||
    fail "with the fence off the peer received '$RESULT': the harm did not show, so the test proves nothing"
pass "kernel TCP path and fenced: the peer received exactly the guest's 10 bytes; unfenced: $bytes bytes it never sent"
