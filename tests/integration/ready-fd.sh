#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --ready-fd gets exactly "1", then EOF, and only once the interface is
# configured: the address must already be there when the byte arrives.
. "$(dirname "$0")/../lib.sh"

start_guest
mkfifo "$WORK/ready"
"$SLIRP" -c --ready-fd=7 "$GUEST_PID" tap0 7>"$WORK/ready" >"$WORK/slirp.log" 2>&1 &
SLIRP_PID=$!
BACKGROUND_PIDS+=($SLIRP_PID)
exec 8<"$WORK/ready"
# Read one byte, then check at once, before anything else can happen.
IFS= read -r -N 1 -t 10 -u 8 byte || fail "nothing on ready-fd"
addr=$(in_guest ip -o -4 addr show dev tap0)
route=$(in_guest ip route)
[ "$byte" = 1 ] || fail "ready-fd got '$byte', expected '1'"
grep -q "inet 10.0.2.100/24" <<<"$addr" || fail "address missing when ready arrived: '$addr'"
grep -q "default via 10.0.2.2" <<<"$route" || fail "route missing when ready arrived: '$route'"
rest=$(timeout 5 cat <&8) || fail "ready-fd was not closed after the byte"
[ -z "$rest" ] || fail "extra data on ready-fd: '$rest'"
exec 8<&-
kill -0 "$SLIRP_PID" || fail "daemon died after signalling ready"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
pass "\"1\" then EOF, with 10.0.2.100/24 and the route already in place"
