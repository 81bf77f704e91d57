#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fault: the API socket's directory is removed (rm -rf) under the running
# daemon, without and with --enable-sandbox. The daemon keeps forwarding
# (HTTP through 10.0.2.2), does not spin (under 20 CPU ticks, 0.2 s, in 2 s
# idle), and on SIGTERM exits 0 within 1 s with no error line. A new
# directory made at the same path, holding a file named like the socket, is
# someone else's: it is left alone.
. "$(dirname "$0")/../lib.sh"


http_server 8000
summary=""
for mode in plain sandbox; do
    dir=$WORK/api-$mode
    mkdir "$dir"
    flags=(-c -a "$dir/api.sock")
    [ $mode = sandbox ] && flags+=(--enable-sandbox --enable-seccomp)
    start_guest
    start_slirp "${flags[@]}" "$GUEST_PID" tap0 || fail "did not start ($mode)"
    reply=$(api "$dir/api.sock" '{"execute":"list_hostfwd"}')
    [ "$reply" = '{"return":{"entries":[]}}' ] || fail "API before the removal ($mode): $reply"
    in_guest curl -s -m 10 -o /dev/null http://10.0.2.2:8000/ || fail "HTTP before the removal ($mode) failed"
    assert_kernel_tcp "$dir/api.sock"

    rm -rf "$dir"
    [ ! -e "$dir" ] || fail "could not remove $dir"
    before=$(proc_cpu_ticks "$SLIRP_PID")
    sleep 2
    spent=$(($(proc_cpu_ticks "$SLIRP_PID") - before))
    [ "$spent" -lt 20 ] || fail "daemon used $spent CPU ticks in 2 s after the removal ($mode)"
    body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
    [ "$body" = "hello from host" ] || fail "HTTP after the removal ($mode) returned '$body'"

    mkdir "$dir"
    echo "not ours" >"$dir/api.sock"
    kill -TERM "$SLIRP_PID"
    took_ms=$(exit_ms "$SLIRP_PID" 30) || fail "still running 30 s after SIGTERM ($mode)"
    stop_slirp
    [ "$SLIRP_STATUS" = 0 ] || fail "SIGTERM exit status $SLIRP_STATUS ($mode)"
    errors=$(grep '^slirp4netns:' "$WORK/slirp.log" | grep -v 'exiting on signal')
    [ -z "$errors" ] || fail "error output on exit ($mode): $errors"
    [ "$(cat "$dir/api.sock" 2>/dev/null)" = "not ours" ] ||
        fail "the unrelated file at the socket's path was touched ($mode)"
    kill "$GUEST_PID"
    wait "$GUEST_PID" 2>/dev/null
    summary="$summary $mode: $spent ticks in 2 s, exit 0 in $took_ms ms;"
done
pass "directory removed: HTTP still served;${summary%;}"
