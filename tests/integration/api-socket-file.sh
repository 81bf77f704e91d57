#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The API socket file: owner-only (0600) and listening before the ready-fd
# fires; a stale socket is replaced; a regular file, a live socket, a long or
# unusable path are refused with one clear line and a non-zero exit; the file
# is removed on every clean exit (SIGTERM, SIGINT, SIGHUP, exit-fd, also from
# inside --enable-sandbox), but not
# when someone else has put another file at the path meanwhile.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
list_ok() { [ "$(api "$SOCK" '{"execute":"list_hostfwd"}')" = '{"return":{"entries":[]}}' ]; }
# refused WHAT PATTERN ARGS...: the daemon exits non-zero with one line matching PATTERN.
refused() {
    local what=$1 pattern=$2 out status
    shift 2
    out=$(timeout 10 "$SLIRP" "$@" 2>&1 >/dev/null)
    status=$?
    [ $status != 0 ] && [ $status != 124 ] || fail "$what: exit status $status"
    grep -q "$pattern" <<<"$out" || fail "$what: error '$out' does not match '$pattern'"
    [ "$(wc -l <<<"$out")" = 1 ] || fail "$what: more than one line of error: $out"
}

start_guest
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
# No waiting: the ready-fd promises the socket already listens.
expect "socket listens at ready time" list_ok
expect "is a socket" test -S "$SOCK"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode is $(stat -c %a "$SOCK"), not 600"
refused "a live socket" "in use" -c -a "$SOCK" "$GUEST_PID" tap1
expect "the live instance still answers" list_ok
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "SIGTERM exit status $SLIRP_STATUS"
expect_not "socket removed after SIGTERM" test -e "$SOCK"

for sig in INT HUP; do
    start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start again"
    kill -$sig "$SLIRP_PID"
    wait "$SLIRP_PID"
    expect_not "socket removed after SIG$sig" test -e "$SOCK"
done

mkfifo "$WORK/exit"
exec 8<>"$WORK/exit"
start_slirp -c -a "$SOCK" --exit-fd=8 "$GUEST_PID" tap0 || fail "did not start with exit-fd"
echo x >"$WORK/exit"
wait "$SLIRP_PID"
expect_not "socket removed after exit-fd" test -e "$SOCK"
exec 8>&-

# Inside --enable-sandbox the old root is gone; removal must still work, for
# a socket outside the directories the sandbox keeps and for one under /run.
mount -t tmpfs -o mode=755 s4n-run /run  # this test's mount namespace only
mkdir -p /run/s4n-api-test
for path in "$SOCK" /run/s4n-api-test/api.sock; do
    start_slirp -c --enable-sandbox -a "$path" "$GUEST_PID" tap0 ||
        fail "did not start with --enable-sandbox and $path: $(tail -n1 "$WORK/slirp.log")"
    [ "$(api "$path" '{"execute":"list_hostfwd"}')" = '{"return":{"entries":[]}}' ] || fail "no answer in the sandbox"
    stop_slirp
    expect_not "socket $path removed on exit from the sandbox" test -e "$path"
done
umount /run

# A stale socket, left by a process that died without removing it.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$SOCK"
expect "stale socket exists" test -S "$SOCK"
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not replace a stale socket"
expect "stale socket replaced" list_ok
# Someone replaces the file while we run: on exit it is theirs, not removed.
rm -f "$SOCK"
echo theirs >"$SOCK"
stop_slirp
[ "$(cat "$SOCK" 2>/dev/null)" = theirs ] || fail "a file put at the path by someone else was removed"

echo precious >"$WORK/file"
refused "a regular file" "not a socket" -c -a "$WORK/file" "$GUEST_PID" tap0
[ "$(cat "$WORK/file")" = precious ] || fail "the regular file was clobbered"
refused "a missing directory" "$WORK/nodir" -c -a "$WORK/nodir/api.sock" "$GUEST_PID" tap0
long=$WORK/$(printf 'x%.0s' $(seq 120))
refused "a path longer than sun_path" "too long" -c -a "$long" "$GUEST_PID" tap0
refused "a directory path" "$WORK" -c -a "$WORK/" "$GUEST_PID" tap0
pass "0600, stale replaced, file/live socket refused, removed on every clean exit"
