#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# SIGTERM and SIGINT end the daemon cleanly with status 0.
. "$(dirname "$0")/../lib.sh"

for sig in TERM INT; do
    start_guest
    start_slirp -c "$GUEST_PID" tap0 || fail "did not start"
    kill -"$sig" "$SLIRP_PID"
    timeout 5 tail --pid="$SLIRP_PID" -f /dev/null || fail "still running 5 s after SIG$sig"
    wait "$SLIRP_PID"
    status=$?
    [ "$status" = 0 ] || fail "exit status $status after SIG$sig"
done
pass "SIGTERM and SIGINT both exit 0"
