#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --exit-fd ends the daemon with status 0 both when the other end is closed
# and when something is written to it.
. "$(dirname "$0")/../lib.sh"

# run_with_exit_fd HOW: starts the daemon with its exit-fd on a pipe whose
# write end this shell holds as fd 5, then ends it by HOW (close or write).
run_with_exit_fd() {
    local how=$1
    start_guest
    rm -f "$WORK/exit"
    mkfifo "$WORK/exit"
    exec 5<>"$WORK/exit"  # opened read-write so neither side blocks
    # The daemon must not inherit the write end, or closing ours is no hang-up.
    { start_slirp -c --exit-fd=6 "$GUEST_PID" tap0 6<"$WORK/exit"; } 5>&- || fail "did not start ($how)"
    rm -f "$WORK/exit"
    sleep 0.3
    kill -0 "$SLIRP_PID" 2>/dev/null || fail "daemon exited before the exit-fd event ($how)"
    case $how in
        close) exec 5>&- ;;
        write) echo x >&5 ;;
    esac
    exit_ms "$SLIRP_PID" 30 >/dev/null || fail "daemon still running 30 s after exit-fd $how"
    wait "$SLIRP_PID"
    local status=$?
    [ "$status" = 0 ] || fail "exit status $status after exit-fd $how"
    exec 5>&- 2>/dev/null
}

run_with_exit_fd close
run_with_exit_fd write
pass "exited with status 0 on close and on write"
