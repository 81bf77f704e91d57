#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A guest floods UDP towards a host behind a slow link. libslirp 4.7.0's UDP
# sockets are blocking (fixed in libslirp 4.9.5), so once a socket's send
# buffer is full, sendto() stops the daemon's whole loop until the link has
# drained it; SlirpStack::register_poll_fd makes every socket libslirp opens
# non-blocking, and such a datagram is dropped instead. The link to the peer
# network runs at 8 kbit/s behind a deep queue, so a full send buffer takes
# minutes to drain. With the fence the daemon answers its API during and
# after the flood. The sanitizer build also runs with the fence switched off
# (S4N_TEST_UNFENCED, which only that build reads) and shows the daemon stuck
# in sendto() with its API silent. The fence is libslirp's, so these
# daemons run --udp-path=slirp; the kernel UDP path's own sockets (the
# default) are non-blocking from the start, which the same flood shows too.
. "$(dirname "$0")/../lib.sh"

peer_network
tc qdisc add dev s4n-h root tbf rate 8kbit burst 1600 limit 10000000 ||
    skip "the tbf queueing discipline is not available"
# 600 datagrams of 1400 bytes: a socket's default send buffer holds about 90.
cat >"$WORK/flood.py" <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
sent = 0
for _ in range(600):
    try:
        s.sendto(b"x" * 1400, ("192.0.2.254", 9))
        sent += 1
    except OSError:
        pass
print(sent)
PY

in_sendto() { [ "$(cut -d' ' -f1 "/proc/$SLIRP_PID/syscall" 2>/dev/null)" = 44 ]; }

# run_case LABEL [ARGS...]: one daemon (with ARGS) and one flood; sets ANSWERS (the API answered
# after the flood: yes or no) and STUCK (the daemon sat in sendto: yes or no).
run_case() {
    start_guest
    start_slirp -c -a "$WORK/api.sock" "${@:2}" "$GUEST_PID" tap0 || fail "$1: did not start"
    sent=$(in_guest timeout 30 python3 "$WORK/flood.py") || fail "$1: the guest could not flood"
    log "$1: the guest sent $sent datagrams"
    # Stuck, it stays so for minutes: the fenced run looks once.
    STUCK=no
    if [ "$1" = unfenced ]; then
        wait_until 10 in_sendto && STUCK=yes
    elif in_sendto; then
        STUCK=yes
    fi
    ANSWERS=no
    api "$WORK/api.sock" '{"execute":"get_stats"}' >/dev/null 2>&1 && ANSWERS=yes
    log "$1: API answered: $ANSWERS, stuck in sendto: $STUCK"
    # A daemon stuck in sendto() takes no signal until the link drains.
    kill -KILL "$SLIRP_PID"
    wait "$SLIRP_PID" 2>/dev/null
    kill -KILL "$GUEST_PID"
    wait "$GUEST_PID" 2>/dev/null
}

run_case fenced --udp-path=slirp
[ "$ANSWERS" = yes ] && [ "$STUCK" = no ] ||
    fail "with the fence the daemon stalled in sendto (API answered: $ANSWERS, stuck: $STUCK)"
shown="a UDP flood over a slow link left the daemon answering (the unfenced run needs the sanitizer build)"
if [ -n "${S4N_SANITIZED:-}" ]; then
    export S4N_TEST_UNFENCED=blocking-send
    run_case unfenced --udp-path=slirp
    unset S4N_TEST_UNFENCED
    [ "$STUCK" = yes ] && [ "$ANSWERS" = no ] ||
        fail "with the fence off the daemon did not stall (API answered: $ANSWERS, stuck: $STUCK): the test proves nothing"
    shown="fenced: the daemon kept answering through a UDP flood over a slow link; unfenced: it sat in sendto with its API silent"
fi
# Last: the queue the cases above filled stays behind it.
run_case kernel-udp
[ "$ANSWERS" = yes ] && [ "$STUCK" = no ] ||
    fail "the kernel UDP path stalled in sendto (API answered: $ANSWERS, stuck: $STUCK)"
pass "$shown; the kernel UDP path kept answering too"
