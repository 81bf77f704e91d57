#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A stopped port-forwarding helper (SIGSTOP) delays neither traffic nor the
# API: a spliced connection opened before keeps moving bytes, the guest's
# own traffic and list_hostfwd keep working, and a new spliced connection just
# waits for the helper, then completes once it runs again. A daemon told to
# exit while its helper is stopped exits, and the helper is gone (reaped).
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock

start_guest
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
splice_peer_servers
api_add "$SOCK" '"proto":"tcp","host_addr":"127.0.0.1","host_port":17007,"guest_port":7007,"mode":"splice"'
http_server 8000

helper=$(ps -o pid=,comm= --ppid "$SLIRP_PID" | awk '$2 == "slirp4netns-fwd" { print $1 }')
[ -n "$helper" ] || fail "no port-forwarding helper under the daemon"

# echo_client NAME: connects to the forward, echoes "one", waits for the
# file NAME.go, echoes "two"; writes NAME.ok when both came back.
echo_client() {
    python3 - "$WORK/$1" <<'PY' &
import os, socket, sys, time
base = sys.argv[1]
s = socket.create_connection(("127.0.0.1", 17007), timeout=120)
def echo(word):
    s.sendall(word)
    got = b""
    while len(got) < len(word):
        chunk = s.recv(64)
        if not chunk:
            sys.exit(1)
        got += chunk
    if got != word:
        sys.exit(1)
echo(b"one")
open(base + ".connected", "w").close()
while not os.path.exists(base + ".go"):
    time.sleep(0.05)
echo(b"two")
open(base + ".ok", "w").close()
PY
    BACKGROUND_PIDS+=($!)
}

echo_client before
wait_until 20 test -e "$WORK/before.connected" || fail "the first spliced connection did not connect"

kill -STOP "$helper"
log "helper $helper stopped"
echo_client during

touch "$WORK/before.go"
wait_until 30 test -e "$WORK/before.ok" || fail "an open spliced connection stalled with the helper stopped"
list=$(timeout 30 python3 "$TESTS_DIR/integration/api-client.py" "$SOCK" '{"execute":"list_hostfwd"}')
expect "list_hostfwd answers with the helper stopped" grep -qF '"host_port":17007' <<<"$list"
body=$(in_guest curl -s -m 30 http://10.0.2.2:8000/)
[ "$body" = "hello from host" ] || fail "guest traffic with the helper stopped returned '$body'"
assert_kernel_tcp "$SOCK"
[ ! -e "$WORK/during.connected" ] || fail "a new connection was spliced without the helper"

kill -CONT "$helper"
log "helper $helper continued"
wait_until 30 test -e "$WORK/during.connected" || fail "the waiting connection did not complete once the helper ran"
touch "$WORK/during.go"
wait_until 30 test -e "$WORK/during.ok" || fail "the waiting connection did not carry bytes"

# Exit with the helper stopped and a connection waiting for it.
kill -STOP "$helper"
echo_client last
sleep 0.5
timeout 30 kill -TERM "$SLIRP_PID"
wait_until 30 sh -c "! kill -0 $SLIRP_PID 2>/dev/null" || fail "the daemon did not exit with its helper stopped"
wait "$SLIRP_PID"
status=$?
[ "$status" = 0 ] || fail "exit status $status"
wait_until 10 sh -c "! kill -0 $helper 2>/dev/null" || fail "the helper outlived the daemon"
pass "a stopped helper delays neither traffic nor the API; waiting connections complete; exit reaps it"
