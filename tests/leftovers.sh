#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/leftovers.sh TEST [ARGS...]: runs one integration test as the only
# child of the first process of a pid namespace of its own (tests/run.sh
# starts this under `unshare --pid --fork --kill-child --mount-proc`), so
# that everything the test starts is in that namespace, whatever user,
# session or other namespaces it runs in. A test ends all it starts: what
# still runs once the test has ended (after 10 s for processes already on
# their way out, such as a daemon's helper) is listed and fails the test.
# It all dies with this process, so a leak never outlives its test.
set -u
[ $$ = 1 ] || {
    echo "tests/leftovers.sh: not the first process of a pid namespace" >&2
    exit 2
}

bash "$@" &
test_pid=$!
# A timeout's SIGTERM comes here (unshare passes it on); the test gets it
# and ends as it would have on its own.
trap 'kill -TERM "$test_pid" 2>/dev/null' TERM INT HUP
while :; do
    wait "$test_pid"
    status=$?
    kill -0 "$test_pid" 2>/dev/null || break
done

# left_running: sets LEFT to the pids of this namespace other than this
# process, zombies aside (they have ended; this process reaps them). Builtins
# only, so that the looking starts no process of its own.
left_running() {
    local p stat
    LEFT=()
    for p in /proc/[0-9]*; do
        [ "${p#/proc/}" = 1 ] && continue
        read -r stat 2>/dev/null <"$p/stat" || continue
        stat=${stat##*) }
        [ "${stat%% *}" = Z ] && continue
        LEFT+=("${p#/proc/}")
    done
    [ ${#LEFT[@]} -gt 0 ]
}

deadline=$((SECONDS + 10))
while left_running && [ $SECONDS -lt $deadline ]; do
    sleep 0.2
done
if left_running; then
    echo "FAIL: $(basename "$1" .sh): left running after the test ended:"
    for pid in "${LEFT[@]}"; do
        args=()
        mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline"
        echo "    $pid ${args[*]}"
    done
    exit 1
fi
exit "$status"
