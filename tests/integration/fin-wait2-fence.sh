#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Connections the guest closes while the host peer never closes its side (the
# report: nc to a server, nc killed) leave libslirp 4.7.0's host sockets in
# FIN_WAIT2 for good, long after the guest's kernel forgot them. The daemon
# ends such a socket once it has sat in FIN_WAIT2 for 2 minutes with nothing
# from the peer (fin_wait2_fence.hpp): its FIN_WAIT2 sockets and its
# descriptor count come back, and the network still works (in a daemon
# confined by the sandbox and seccomp). The sanitizer
# build runs a second daemon alongside with the fence switched off
# (S4N_TEST_UNFENCED, which only that build reads): its sockets are still in
# FIN_WAIT2 when the fenced daemon's are gone, and its guest's are not.
# The fence is in front of libslirp's TCP, so those daemons pin
# --tcp-path=slirp. A third daemon alongside runs the kernel TCP path (the
# default), where the private kernel's keepalive ends such connections: its
# host sockets come back too.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

PORT=9443
CONNECTIONS=3
# The host peer: accepts and holds every connection, never reads or closes.
cat >"$WORK/peer.py" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
held = []
while True:
    held.append(s.accept()[0])
PY
background python3 "$WORK/peer.py" "$PORT"
wait_until 10 port_is_listening "$PORT" || fail "the host peer did not start"

fin_wait2() { ss -Htnp state fin-wait-2 | grep -c "pid=$1,"; }
sockets() { ls -l "/proc/$1/fd" | grep -c 'socket:'; }

# daemon [ENV=VALUE | kernel]: a guest and a daemon; sets D_GUEST, D_PID.
# The fenced one is confined: the sweep needs nothing the sandbox or seccomp
# forbids.
daemon() {
    start_guest
    if [ "${1:-}" = kernel ]; then
        start_slirp -c -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start (kernel)"
    elif [ $# -gt 0 ]; then
        export "$1"
        start_slirp -c --tcp-path=slirp "$GUEST_PID" tap0 || fail "did not start ($1)"
        unset "${1%%=*}"
    else
        start_slirp -c --tcp-path=slirp --enable-sandbox --enable-seccomp "$GUEST_PID" tap0 ||
            fail "did not start"
    fi
    wait_startup_over
    D_GUEST=$GUEST_PID D_PID=$SLIRP_PID
}

# close_from_guest GUEST_PID: CONNECTIONS clients connect through 10.0.2.2
# and send a byte; once all have, they are killed (their kernel sends the
# FIN). Prints how many connected.
close_from_guest() {
    local out=$WORK/clients.$1
    : >"$out"
    GUEST_PID=$1 in_guest sh -c '
        pids=
        for i in $(seq '$CONNECTIONS'); do
            python3 -c "import socket, time
s = socket.create_connection((\"10.0.2.2\", '$PORT'))
s.sendall(b\"x\")
print(\"connected\", flush=True)
time.sleep(600)" >>"$0" &
            pids="$pids $!"
        done
        tries=0
        while [ "$(grep -c connected "$0")" -lt '$CONNECTIONS' ] && [ $tries -lt 600 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
        kill -TERM $pids
        wait' "$out"
    grep -c connected "$out"
}

daemon
fenced=$D_PID fenced_guest=$D_GUEST
fenced_base=$(sockets "$fenced")
unfenced=
if [ -n "${S4N_SANITIZED:-}" ]; then
    daemon S4N_TEST_UNFENCED=fin-wait2
    unfenced=$D_PID unfenced_guest=$D_GUEST
fi
daemon kernel
kernel=$D_PID kernel_guest=$D_GUEST
kernel_base=$(sockets "$kernel")

[ "$(close_from_guest "$fenced_guest")" = $CONNECTIONS ] || fail "the guest's clients did not connect"
[ "$(close_from_guest "$kernel_guest")" = $CONNECTIONS ] || fail "the kernel path's clients did not connect"
assert_kernel_tcp "$WORK/api.sock" $CONNECTIONS
[ -z "$unfenced" ] || [ "$(close_from_guest "$unfenced_guest")" = $CONNECTIONS ] ||
    fail "the unfenced guest's clients did not connect"
closed_at=$SECONDS
leaked() { [ "$(fin_wait2 "$1")" = $CONNECTIONS ]; }
wait_until 30 leaked "$fenced" || fail "the daemon's sockets never reached FIN_WAIT2: $(ss -Htnp)"
wait_until 30 leaked "$kernel" || fail "kernel path: no FIN_WAIT2 sockets: $(ss -Htnp)"
[ -z "$unfenced" ] || wait_until 30 leaked "$unfenced" || fail "unfenced: no FIN_WAIT2 sockets"
log "after the guest closed: $(fin_wait2 "$fenced") host sockets in FIN_WAIT2, $(sockets "$fenced") sockets ($fenced_base before)"

# Counted every 10 s; the fence acts after 120 s, the bound only guards a hang.
gone() { [ "$(fin_wait2 "$fenced")" = 0 ] && [ "$(sockets "$fenced")" -le "$fenced_base" ]; }
until gone; do
    [ $((SECONDS - closed_at)) -ge 300 ] &&
        fail "after $((SECONDS - closed_at)) s: $(fin_wait2 "$fenced") in FIN_WAIT2, $(sockets "$fenced") sockets ($fenced_base before)"
    log "t=$((SECONDS - closed_at)) s: fenced $(fin_wait2 "$fenced") in FIN_WAIT2, $(sockets "$fenced") sockets;\
 kernel path $(fin_wait2 "$kernel")${unfenced:+; unfenced $(fin_wait2 "$unfenced") in FIN_WAIT2}"
    sleep 10
done
took=$((SECONDS - closed_at))
log "t=$took s: fenced daemon back to $(sockets "$fenced") sockets, none in FIN_WAIT2"
# The keepalive (60 s idle, then probes 10 s apart) has long acted; the
# bound only guards a hang.
kernel_gone() { [ "$(fin_wait2 "$kernel")" = 0 ] && [ "$(sockets "$kernel")" -le "$kernel_base" ]; }
wait_until 300 kernel_gone ||
    fail "kernel path: $(fin_wait2 "$kernel") in FIN_WAIT2, $(sockets "$kernel") sockets ($kernel_base before)"
kernel_took=$((SECONDS - closed_at))
GUEST_PID=$fenced_guest
body=$(echo | in_guest python3 -c '
import socket
s = socket.create_connection(("10.0.2.2", '$PORT'), timeout=10)
s.sendall(b"y")
print("ok")') || true
[ "$body" = ok ] || fail "a new connection after the fence acted failed: $body"
kill -0 "$fenced" 2>/dev/null || fail "the fenced daemon died"

if [ -z "$unfenced" ]; then
    pass "$CONNECTIONS abandoned half-closed host sockets ended ${took}s after the guest closed;\
 socket count back to $fenced_base; kernel TCP path's by ${kernel_took}s (the unfenced run needs the sanitizer build)"
fi
GUEST_PID=$unfenced_guest
guest_kept=$(in_guest ss -Htn state fin-wait-2 | wc -l)
[ "$(fin_wait2 "$unfenced")" = $CONNECTIONS ] && [ "$guest_kept" = 0 ] ||
    fail "unfenced: $(fin_wait2 "$unfenced") host sockets in FIN_WAIT2 (guest: $guest_kept): the leak did not show"
pass "fenced: $CONNECTIONS abandoned host sockets ended ${took}s after the guest closed, count back to\
 $fenced_base; kernel TCP path's by ${kernel_took}s; unfenced: still $CONNECTIONS in FIN_WAIT2 at ${took}s, the guest holding none"
