#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Busy polling (--busy-poll, on by default): after request/response traffic
# the daemon polls without sleeping for up to the given microseconds
# (event_loop.cpp), and --busy-poll=0 turns that off. Checked by counting,
# not timing: the guest makes 20 exchanges with a host echo service, 50 ms
# apart, through 10.0.2.2. After each answer nothing arrives for a while, so
# a spinning daemon makes at least one wait with timeout 0 that finds
# nothing (strace counts them: poll(), or epoll_wait() while libslirp has
# no sockets to add, as when the kernel TCP path carries the exchanges): at
# least 20 with --busy-poll=1000, and with --busy-poll=0 only the odd timer
# due at that very moment. Bulk data from the guest must not start the spin:
# while the guest uploads, every frame back to it is a bare ACK, and a
# daemon that spins after each makes more non-blocking waits than reads
# (perf counts the system calls: strace would slow the daemon until no wait
# finds nothing). How much busy polling saves is a performance figure:
# bench/busy-poll.sh.
. "$(dirname "$0")/../lib.sh"
command -v strace >/dev/null || skip "strace is missing (tests/install-deps.sh installs it)"
perf stat -e syscalls:sys_enter_read true >/dev/null 2>&1 ||
    skip "perf cannot count system calls here (tests/install-deps.sh installs linux-perf)"

EXCHANGES=20
cat >"$WORK/echo.py" <<'PY'
import socket, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 11111))
s.listen(8)
def serve(c):
    while (data := c.recv(4096)):
        c.sendall(data)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
PY
cat >"$WORK/exchanges.py" <<'PY'
import socket, sys, time
s = socket.create_connection(("10.0.2.2", 11111), timeout=30)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
done = 0
for i in range(int(sys.argv[1])):
    s.sendall(b"ping%02d" % i)
    if s.recv(64) == b"ping%02d" % i:
        done += 1
    time.sleep(0.05)
print(done)
PY
PEER=$TESTS_DIR/integration/tcp-peer.py
background python3 "$WORK/echo.py"
background python3 "$PEER" server 11112
wait_until 10 port_is_listening 11111 || fail "echo server did not start"
wait_until 10 port_is_listening 11112 || fail "upload server did not start"

# spins FLAGS...: the exchanges under a daemon started with FLAGS; sets SPINS
# to the number of waits it made with timeout 0 that found nothing.
spins() {
    start_guest
    start_slirp -c -a "$WORK/api.sock" "$@" "$GUEST_PID" tap0 || fail "did not start ($*)"
    strace -q -e trace=poll,epoll_wait,epoll_pwait -p "$SLIRP_PID" -o "$WORK/strace" &
    local tracer=$!
    # Attached once the daemon shows a tracer (no output comes while idle).
    wait_until 10 grep -q "^TracerPid:[[:space:]]*[1-9]" "/proc/$SLIRP_PID/status" ||
        fail "strace did not attach"
    local done
    done=$(in_guest python3 "$WORK/exchanges.py" "$EXCHANGES" 2>&1)
    kill "$tracer" 2>/dev/null
    wait "$tracer" 2>/dev/null
    [ "$done" = "$EXCHANGES" ] || fail "the exchanges failed ($*): $done"
    assert_kernel_tcp "$WORK/api.sock"
    SPINS=$(grep -cE ', 0(, NULL, 8)?\) *= 0( \(Timeout\))?$' "$WORK/strace")
    stop_slirp
    [ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS ($*)"
}

# bulk_waits: a 256 MiB upload from the guest under a default daemon; sets
# WAITS to the epoll_wait() calls with timeout 0 it made meanwhile, and
# READS to its read() and splice() calls: the bytes of an upload reach the
# daemon as tap frames it reads (bridged) or on a socket it splices from
# (kernel to kernel).
bulk_waits() {
    start_guest
    start_slirp -c -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start for the upload"
    perf stat -x, -e syscalls:sys_enter_epoll_wait --filter 'timeout == 0' \
        -e syscalls:sys_enter_read -e syscalls:sys_enter_splice -p "$SLIRP_PID" \
        -o "$WORK/perf" &
    local counter=$! sent
    # Counting once perf holds its events.
    wait_until 10 sh -c "ls -l /proc/$counter/fd 2>/dev/null | grep -q 'perf_event'" ||
        fail "perf stat did not start"
    sent=$(in_guest python3 "$PEER" client 10.0.2.2 11112 upload $((256 << 20)) 2>&1)
    kill -INT "$counter"
    wait "$counter"
    [ "$sent" = ok ] || fail "the upload failed: $sent"
    assert_kernel_tcp "$WORK/api.sock"
    WAITS=$(awk -F, '/sys_enter_epoll_wait/ { print $1 }' "$WORK/perf")
    READS=$(awk -F, '/sys_enter_(read|splice)/ { n += $1 } END { print n }' "$WORK/perf")
    stop_slirp
    [ -n "$WAITS" ] && [ -n "$READS" ] || fail "perf counted nothing: $(cat "$WORK/perf")"
}

spins --busy-poll=1000 && on=$SPINS
spins --busy-poll=0 && off=$SPINS
spins && default=$SPINS
bulk_waits
log "empty waits over $EXCHANGES exchanges: $on with --busy-poll=1000, $default by default, $off with --busy-poll=0; a 256 MiB upload: $WAITS non-blocking waits, $READS reads and splices"
[ "$on" -ge "$EXCHANGES" ] || fail "with --busy-poll=1000 the daemon spun after fewer than $EXCHANGES answers ($on empty waits)"
[ "$default" -ge "$EXCHANGES" ] || fail "by default the daemon spun after fewer than $EXCHANGES answers ($default empty waits)"
[ $((off * 2)) -lt "$on" ] || fail "--busy-poll=0 still spun: $off empty waits (vs $on)"
# Each spin is a run of non-blocking waits; the reads are at least one per
# 64 KB segment of the upload (or per splice of it). Spinning after every bare ACK made more such
# waits than reads (13689 for 5183 in one run); without that spin a few
# windows remain, after the handshake and the close (395 in that run).
[ $((WAITS * 2)) -lt "$READS" ] ||
    fail "the daemon spun while the guest uploaded: $WAITS non-blocking waits for $READS reads and splices"
pass "$EXCHANGES exchanges each way; empty waits: $on (--busy-poll=1000), $default (default), $off (--busy-poll=0); upload: $WAITS non-blocking waits for $READS reads and splices"
