#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fault: the daemon runs with RLIMIT_NOFILE 64 (ulimit -n 64) and the guest
# opens 200 connections at once to a host-loopback echo service through
# 10.0.2.2, holding them. Expected: the first ones (as many as descriptors
# remain, about 50 through libslirp, half as many through the kernel TCP
# path) connect and all of those still echo; every later one fails
# at once with ENETUNREACH (libslirp cannot open a socket and answers ICMP
# network unreachable); a new curl fails at once (7); the daemon neither exits
# nor spins (under 20 CPU ticks in 2 s at the limit); the API still answers
# (a spare descriptor is kept for it), and add_hostfwd gets an error reply.
# Once the guest closes its connections the daemon's descriptors return to
# their start count and a normal fetch works again.
. "$(dirname "$0")/../lib.sh"

# UBSan's vptr check probes memory through a pipe(), which fails once the
# daemon's descriptors are all taken: a sanitized daemon reports a false
# "invalid vptr" at the limit and aborts, so this fault needs a plain build.

SOCK=$WORK/api.sock

cat >"$WORK/echo.py" <<'PY'
import selectors, socket, sys
sel = selectors.DefaultSelector()
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1])))
l.listen(512)
l.setblocking(False)
sel.register(l, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        if s is l:
            c, _ = l.accept()
            sel.register(c, selectors.EVENT_READ)
            continue
        try:
            data = s.recv(4096)
            if data:
                s.sendall(data)
                continue
        except OSError:
            pass
        sel.unregister(s)
        s.close()
PY
# hold.py HOST PORT N RELEASE: N concurrent connects; prints the outcomes
# (errno names, "connected"), then how many connected ones echo a byte; holds
# everything until the file RELEASE exists.
cat >"$WORK/hold.py" <<'PY'
import errno, os, selectors, socket, sys, time, collections
host, port, n, release = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sel = selectors.DefaultSelector()
socks, connected = [], []
outcome = collections.Counter()

# An ICMP error that lands while the guest kernel holds the socket can make it
# read writable with SO_ERROR 0 before the error is posted: only a socket with
# a peer counts as connected, and the others are asked again for their error.
def result_of(s):
    for _ in range(50):
        e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if e:
            return errno.errorcode.get(e, str(e))
        try:
            s.getpeername()
            return "connected"
        except OSError:
            time.sleep(0.01)
    return "ENOTCONN"

start = time.time()
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, port))
    socks.append(s)
    sel.register(s, selectors.EVENT_WRITE)
pending = len(socks)
while pending and time.time() < start + 8:
    for key, _ in sel.select(0.2):
        s = key.fileobj
        result = result_of(s)
        outcome[result] += 1
        if result == "connected":
            connected.append(s)
        sel.unregister(s)
        pending -= 1
outcome["pending"] = pending
took = time.time() - start
echoed = 0
for s in connected:
    s.setblocking(True)
    s.settimeout(3)
    try:
        s.sendall(b"x")
        echoed += s.recv(1) == b"x"
    except OSError:
        pass
print(" ".join(f"{k}={v}" for k, v in sorted(outcome.items())), f"echoed={echoed}",
      f"ms={int(took * 1000)}", flush=True)
while not os.path.exists(release):
    time.sleep(0.1)
for s in socks:
    s.close()
PY

http_server 8000
background python3 "$WORK/echo.py" 9000
wait_until 10 port_is_listening 9000 || fail "echo server did not start"
start_guest
printf '#!/bin/sh\nexec prlimit --nofile=64 "%s" "$@"\n' "$SLIRP" >"$WORK/low-nofile"
chmod +x "$WORK/low-nofile"
SLIRP=$WORK/low-nofile start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start with 64 descriptors"
wait_startup_over
# Descriptors below the limit (one inherited from a caller may sit above it).
baseline=$(proc_fds "$SLIRP_PID" 64) baseline_kinds=$(fd_kinds "$SLIRP_PID")

in_guest python3 "$WORK/hold.py" 10.0.2.2 9000 200 "$WORK/release" >"$WORK/hold.out" 2>&1 &
holder=$!
BACKGROUND_PIDS+=($holder)
wait_until 20 grep -q echoed "$WORK/hold.out" || fail "guest client did not finish: $(cat "$WORK/hold.out")"
result=$(cat "$WORK/hold.out")
log "guest: $result"
count() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$result"; }
connected=$(count connected) unreach=$(count ENETUNREACH) echoed=$(count echoed)
[ "$(count pending)" = 0 ] || fail "connections still pending after 8 s: $result"
[ "$((${connected:-0} + ${unreach:-0}))" = 200 ] || fail "outcomes other than connected/ENETUNREACH: $result"
# A connection through the kernel TCP path holds two descriptors (its host
# socket and the one accepted in the private namespace), libslirp's one.
least=40
[ "$(stats_field "$SOCK" tcp_path)" = kernel ] && least=$(((64 - baseline) / 2 - 3))
[ "$connected" -ge "$least" ] && [ "$connected" -le $((64 - baseline)) ] ||
    fail "$connected connected (at least $least expected) with $baseline descriptors in use at start: $result"
assert_kernel_tcp "$SOCK" "$least"
[ "$echoed" = "$connected" ] || fail "only $echoed of $connected held connections echo: $result"
at_limit=$(proc_fds "$SLIRP_PID" 64)

before=$(proc_cpu_ticks "$SLIRP_PID")
sleep 2
spent=$(($(proc_cpu_ticks "$SLIRP_PID") - before))
[ "$spent" -lt 20 ] || fail "daemon used $spent CPU ticks in 2 s at the descriptor limit"
kill -0 "$SLIRP_PID" 2>/dev/null || fail "daemon exited at the descriptor limit"

reply=$(api --time "$SOCK" '{"execute":"list_hostfwd"}') || fail "API did not answer at the limit"
[ "$(head -n1 <<<"$reply")" = '{"return":{"entries":[]}}' ] || fail "list_hostfwd at the limit: $reply"
api_ms=$(tail -n1 <<<"$reply")
reply=$(api "$SOCK" '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":8080,"guest_port":80}}') ||
    fail "add_hostfwd got no reply at the limit"
[[ $reply == '{"error":'* ]] || fail "add_hostfwd at the limit did not fail: $reply"

start=$(date +%s%N)
in_guest curl -s -o /dev/null -m 10 http://10.0.2.2:8000/
status=$? curl_ms=$(ms_since "$start")
# 7 is a refusal that came back; a fetch left hanging would end in 28.
[ "$status" = 7 ] || fail "a new fetch at the limit gave curl status $status after $curl_ms ms"

touch "$WORK/release"
wait "$holder"
start=$(date +%s%N)
fds_back() { [ "$(proc_fds "$SLIRP_PID" 64)" -le "$baseline" ]; }
wait_until 30 fds_back ||
    fail "descriptors did not come back: $(proc_fds "$SLIRP_PID" 64) ($(fd_kinds "$SLIRP_PID")), $baseline at start ($baseline_kinds)"
recover_ms=$(ms_since "$start")
body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "fetch after the release returned '$body'"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "SIGTERM exit status $SLIRP_STATUS"
pass "connected=$connected (all echo) ENETUNREACH=$unreach in $(count ms) ms; $at_limit fds at the limit;\
 $spent CPU ticks in 2 s; API ${api_ms} ms, add_hostfwd error; new curl 7 in $curl_ms ms;\
 fds back to $baseline ${recover_ms} ms after release, fetch works"
