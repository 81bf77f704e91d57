#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Out of descriptors (RLIMIT_NOFILE 32) with 60 clients connected and silent:
# the API drops the oldest clients instead of spinning on accept(), keeps
# answering new ones, and burns no CPU meanwhile.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock

start_guest
REAL_SLIRP=$SLIRP
printf '#!/bin/sh\nexec prlimit --nofile=32 "%s" "$@"\n' "$REAL_SLIRP" >"$WORK/low-nofile"
chmod +x "$WORK/low-nofile"
SLIRP=$WORK/low-nofile
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start with 32 descriptors"

python3 "$TESTS_DIR/integration/api-client.py" silent "$SOCK" 60 3 >"$WORK/silent.out" &
silent_pid=$!
wait_until 5 grep -q connected "$WORK/silent.out" || fail "silent clients did not connect"
before=$(proc_cpu_ticks "$SLIRP_PID")
sleep 1
reply=$(api --time "$SOCK" '{"execute":"list_hostfwd"}')
[ "$(head -n1 <<<"$reply")" = '{"return":{"entries":[]}}' ] || fail "no answer while out of descriptors: $reply"
ms=$(tail -n1 <<<"$reply")
spent=$(($(proc_cpu_ticks "$SLIRP_PID") - before))
# A spinning accept loop would burn ~100 ticks (1 s of CPU) here.
[ "$spent" -lt 30 ] || fail "the daemon used $spent ticks of CPU in one second while out of descriptors"
wait $silent_pid
dropped=$(tail -n1 "$WORK/silent.out")
[ "$dropped" -ge 20 ] || fail "only $dropped of 60 clients were dropped to make room"
kill -0 "$SLIRP_PID" || fail "daemon died"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "SIGTERM exit status $SLIRP_STATUS"
pass "answered in $ms ms while out of descriptors ($dropped oldest clients dropped, $spent CPU ticks)"
