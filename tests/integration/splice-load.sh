#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Splice-mode TCP under load: 10 000 sequential short connections, then 500
# concurrent ones, each echoing its own message; the daemon ends with no
# connection (or descriptor) left behind.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
PEER="$TESTS_DIR/integration/splice-peer.py"

start_guest
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
splice_peer_servers
reply=$(api "$SOCK" '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":17007,"guest_port":7007,"mode":"splice"}}')
grep -q '"id"' <<<"$reply" || fail "add_hostfwd answered '$reply'"
wait_startup_over
fds_before=$(proc_fds "$SLIRP_PID")

start=$SECONDS
timeout 120 python3 "$PEER" sequential 127.0.0.1 17007 10000 || fail "sequential connections"
log "10000 sequential connections in $((SECONDS - start)) s"
start=$SECONDS
timeout 60 python3 "$PEER" concurrent 127.0.0.1 17007 500 || fail "concurrent connections"
log "500 concurrent connections in $((SECONDS - start)) s"

# Every connection was closed by both ends: the daemon must hold no more
# descriptors than before (spare pipes excepted, at most 8 pairs).
settled() { [ "$(proc_fds "$SLIRP_PID")" -le $((fds_before + 16)) ]; }
wait_until 10 settled || fail "descriptors leaked: $fds_before before, $(proc_fds "$SLIRP_PID") after"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
pass "10000 sequential and 500 concurrent connections"
