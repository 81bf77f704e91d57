#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Kernel-to-kernel delivery keeps the guest's ports: the private namespace
# gets a listener for each destination port in use (opened by the keeper
# child). 400 connections at once to 400 ports of an outside peer all
# carry their bytes, at most 256 listeners are ever open, and once the
# connections are done the listeners close again; the keeper is the one
# child left besides the forward helper, and the daemon's descriptors come
# back to where they were.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

PORTS=400
peer_network
cat >"$WORK/peer.py" <<'PY'
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in range(20000, 20000 + int(sys.argv[1])):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("192.0.2.254", port))
    s.listen(16)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, "listen")
while True:
    for key, _ in sel.select():
        if key.data == "listen":
            c, _ = key.fileobj.accept()
            c.setblocking(True)
            sel.register(c, selectors.EVENT_READ, "conn")
        else:
            data = key.fileobj.recv(64)
            if data:
                key.fileobj.sendall(b"pong %d" % key.fileobj.getsockname()[1])
            else:
                sel.unregister(key.fileobj)
                key.fileobj.close()
PY
cat >"$WORK/guest.py" <<'PY'
import socket, sys
n = int(sys.argv[1])
conns = [socket.create_connection(("192.0.2.254", 20000 + i), timeout=30) for i in range(n)]
for c in conns:
    c.sendall(b"ping")
ok = sum(c.recv(64) == b"pong %d" % c.getpeername()[1] for c in conns)
print(ok)
input()  # hold them until told
for c in conns:
    c.close()
PY
in_peer sh -c "ulimit -n 4096; exec python3 $WORK/peer.py $PORTS" >"$WORK/peer.log" 2>&1 &
BACKGROUND_PIDS+=($!)
wait_until 10 sh -c "nsenter --target $PEER_PID --net ss -ltn | grep -q ':$((20000 + PORTS - 1))'" ||
    fail "the peer did not listen"

start_guest
start_slirp -c -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
sock=$WORK/api.sock
wait_startup_over
[ "$(stats_field "$sock" kernel_tcp_delivery)" = redirect ] ||
    fail "kernel-to-kernel delivery is not in place: $(stats_field "$sock" kernel_tcp_delivery)"
fds_before=$(proc_fds "$SLIRP_PID")

mkfifo "$WORK/hold"
in_guest sh -c "ulimit -n 4096; exec python3 $WORK/guest.py $PORTS <$WORK/hold" >"$WORK/guest.log" 2>&1 &
guest_client=$!
exec 7>"$WORK/hold"
most=0
answered() { [ -s "$WORK/guest.log" ]; }
sample() {
    local n
    n=$(stats_field "$sock" kernel_tcp_listeners)
    [ "$n" -gt "$most" ] && most=$n
    answered
}
wait_until 60 sample || fail "the guest's $PORTS connections did not complete: $(cat "$WORK/guest.log")"
[ "$(cat "$WORK/guest.log")" = "$PORTS" ] ||
    fail "of $PORTS connections to $PORTS ports, $(cat "$WORK/guest.log") got their own port's answer"
[ "$most" -le 256 ] || fail "$most listeners open at once, more than the bound of 256"
[ "$most" -ge 1 ] || fail "no listener was ever counted"
active=$(stats_field "$sock" kernel_tcp_active)
[ "$active" -ge "$PORTS" ] || fail "$active connections relayed, expected $PORTS"
exec 7>&-
wait "$guest_client"

no_listeners() { [ "$(stats_field "$sock" kernel_tcp_listeners)" = 0 ]; }
wait_until 30 no_listeners || fail "$(stats_field "$sock" kernel_tcp_listeners) listeners still open"
no_relays() { [ "$(stats_field "$sock" kernel_tcp_active)" = 0 ]; }
wait_until 30 no_relays || fail "$(stats_field "$sock" kernel_tcp_active) connections still relayed"
fds_after=$(proc_fds "$SLIRP_PID")
[ "$fds_after" -le "$fds_before" ] || fail "descriptors $fds_before before, $fds_after after"
children=$(ps -o comm= --ppid "$SLIRP_PID" | sort | tr '\n' ' ')
[ "$children" = "slirp4netns-fwd slirp4netns-tcp " ] || fail "children of the daemon: '$children'"
pass "$PORTS connections to $PORTS ports answered; at most $most listeners at once, 0 after; fds $fds_before -> $fds_after"
