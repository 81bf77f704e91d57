#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fault: the target namespace's last process dies right after traffic. The
# daemon exits within 1 s with a non-zero status and a message naming the tap
# or the namespace.
#
# The namespace itself may outlive its processes for a while (the kernel
# tears it down asynchronously, and orphaned TCP sockets pin it), so the
# daemon must notice the process, not only the tap vanishing.
. "$(dirname "$0")/../lib.sh"

http_server 8000
start_guest
start_slirp -c -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
for i in 1 2 3 4 5; do
    body=$(in_guest curl -s -m 5 http://10.0.2.2:8000/)
    [ "$body" = "hello from host" ] || fail "request $i through the daemon returned '$body'"
done
assert_kernel_tcp "$WORK/api.sock" 5

# Every process in the guest's namespace dies at once, as when a container ends.
kill_guest
took_ms=$(exit_ms "$SLIRP_PID" 5) || fail "still running 5 s after the namespace died"
wait "$SLIRP_PID"
status=$?
[ "$status" != 0 ] || fail "exit status 0 after the namespace died"
[ "$took_ms" -le 1000 ] || fail "took $took_ms ms to exit (limit 1000)"
message=$(grep -v '^\*\|^Starting' "$WORK/slirp.log" | tail -n 1)
grep -qE "tap0|namespace" <<<"$message" || fail "last message names neither the tap nor the namespace: '$message'"
pass "status $status after $took_ms ms: $message"
