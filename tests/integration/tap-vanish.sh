#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tap going away ends the daemon with a non-zero status and a message,
# within about a second: when the target process of --netns-type=pid dies
# (the daemon's own tap fd pins the namespace, so it watches the process),
# and when the tap itself is deleted in the guest.
. "$(dirname "$0")/../lib.sh"

# ends_within_ms MS WHAT: waits for SLIRP_PID to exit, at most MS ms; checks
# a non-zero status and a message on stderr. Sets ENDED_MS.
ends_within_ms() {
    local start
    start=$(date +%s%N)
    while kill -0 "$SLIRP_PID" 2>/dev/null; do
        [ $((($(date +%s%N) - start) / 1000000)) -lt 5000 ] || fail "still running 5 s after $2"
        sleep 0.02
    done
    ENDED_MS=$((($(date +%s%N) - start) / 1000000))
    wait "$SLIRP_PID"
    local status=$?
    [ "$status" != 0 ] || fail "exit status 0 after $2"
    [ "$ENDED_MS" -le "$1" ] || fail "took $ENDED_MS ms to notice $2"
    grep -q "^slirp4netns: .*\(exited\|gone\)" "$WORK/slirp.log" || fail "no message after $2"
}

start_guest
start_slirp -c "$GUEST_PID" tap0 || fail "did not start"
kill -KILL "$GUEST_PID"
ends_within_ms 1500 "the guest was killed"
killed="$(grep '^slirp4netns:' "$WORK/slirp.log" | tail -n 1) (${ENDED_MS} ms)"

start_guest
touch "$WORK/netns"
mount --bind "/proc/$GUEST_PID/ns/net" "$WORK/netns"
start_slirp -c --netns-type=path "$WORK/netns" tap0 || fail "did not start (path)"
in_guest ip link del tap0 || fail "cannot delete tap0 in the guest"
ends_within_ms 1500 "tap0 was deleted"
deleted="$(grep '^slirp4netns:' "$WORK/slirp.log" | tail -n 1) (${ENDED_MS} ms)"
umount "$WORK/netns"
pass "$killed; $deleted"
