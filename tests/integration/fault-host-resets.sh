#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fault: the host service resets the guest's connections. Through 10.0.2.2
# to the host side's loopback, five times each: a closed port is refused
# (curl 7); a server that accepts and resets at once (SO_LINGER 0) gives a
# refusal or a reset (curl 7, 55 or 56: the reset may beat libslirp's answer
# to the SYN, or arrive while curl is still sending its request); one that resets after reading the request gives a reset (56) with
# no data; one that resets mid-transfer gives a reset (56) after some of the
# 4 MiB body. Each within 2 s, never a hang. After each kind a normal fetch
# works, and the daemon holds no more descriptors than before.
. "$(dirname "$0")/../lib.sh"

cat >"$WORK/rst.py" <<'PY'
import socket, struct, threading, time
LINGER0 = struct.pack("ii", 1, 0)  # close() then sends a RST
def serve(port, mode):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("127.0.0.1", port))
    l.listen(16)
    while True:
        c, _ = l.accept()
        threading.Thread(target=handle, args=(c, mode), daemon=True).start()
def handle(c, mode):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
    if mode != "at-accept":
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
    if mode == "mid-transfer":
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 4194304\r\n\r\n" + b"x" * 262144)
        time.sleep(0.3)  # let those bytes reach the guest before the reset
    c.close()
for port, mode in [(8001, "at-accept"), (8002, "after-request"), (8003, "mid-transfer")]:
    threading.Thread(target=serve, args=(port, mode), daemon=True).start()
threading.Event().wait()
PY

# fetch PORT: one curl from the guest; prints "STATUS BYTES MS".
fetch() {
    local start=$(date +%s%N) out status
    out=$(in_guest curl -s -o /dev/null -w '%{size_download}' -m 10 "http://10.0.2.2:$1/")
    status=$?
    echo "$status $out $((($(date +%s%N) - start) / 1000000))"
}
normal_fetch_works() {
    local body
    body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
    [ "$body" = "hello from host" ] || fail "normal fetch after $1 returned '$body'"
}

http_server 8000
background python3 "$WORK/rst.py"
wait_until 10 port_is_listening 8003 || fail "reset server did not start"
start_guest
start_slirp -c -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
wait_startup_over
baseline=$(proc_fds "$SLIRP_PID") baseline_kinds=$(fd_kinds "$SLIRP_PID")

worst=0
summary=""
for kind in refused:7999 at-accept:8001 after-request:8002 mid-transfer:8003; do
    name=${kind%%:*} port=${kind##*:}
    seen=""
    for i in 1 2 3 4 5; do
        read -r status bytes ms <<<"$(fetch "$port")"
        case $name:$status in
            refused:7 | at-accept:7 | at-accept:55 | at-accept:56 | after-request:56 | mid-transfer:56) ;;
            *) fail "$name #$i: curl exited $status after $ms ms ($bytes bytes)" ;;
        esac
        case $name in
            mid-transfer) [ "$bytes" -gt 0 ] && [ "$bytes" -lt 4194304 ] ||
                fail "$name #$i: $bytes bytes arrived before the reset" ;;
            *) [ "$bytes" = 0 ] || fail "$name #$i: $bytes bytes arrived" ;;
        esac
        [ "$ms" -gt "$worst" ] && worst=$ms
        case " $seen " in *" $status "*) ;; *) seen="$seen $status" ;; esac
    done
    kill -0 "$SLIRP_PID" 2>/dev/null || fail "daemon died after $name"
    normal_fetch_works "$name"
    seen=${seen# }
    summary="$summary $name:curl ${seen// //},"
done
# A connection libslirp dropped must not keep its host socket; the four
# normal fetches may still be closing, so they are allowed for.
fds_back() { [ "$(proc_fds "$SLIRP_PID")" -le $((baseline + 4)) ]; }
wait_until 30 fds_back ||
    fail "daemon holds $(proc_fds "$SLIRP_PID") descriptors ($(fd_kinds "$SLIRP_PID")), $baseline before the resets ($baseline_kinds)"
fds=$(proc_fds "$SLIRP_PID")
kill -0 "$SLIRP_PID" 2>/dev/null || fail "daemon died"
assert_kernel_tcp "$WORK/api.sock" 15
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "SIGTERM exit status $SLIRP_STATUS"
pass "${summary# } slowest $worst ms; normal fetch after each; $fds fds (baseline $baseline)"
