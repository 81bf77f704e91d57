#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Once ready, the daemon unmaps the read-only pages that start-up used
# (memory_return.hpp): fewer of its executable's code and constant pages are
# resident once idle than at the moment it signalled ready, in a confined
# daemon too, and traffic and the API still work afterwards, faulting back
# in what they need. The moment is caught without timing: the ready pipe is
# full, so the daemon's write of "1" blocks there until the test reads.
# Once traffic and the API have gone quiet, the read-only pages of the
# executable and its libraries that they faulted in (code, and the symbol
# tables that lazy binding reads) go again. The same holds for the kernel
# TCP path's keeper (slirp4netns-tcp): the listener it opens for a port the
# guest has not used before faults code in, and a quiet spell lets it go.
# How much goes is logged; idle-memory figures belong to make bench.
. "$(dirname "$0")/../lib.sh"

# kB of the read-only mappings of FILE (of any file, when FILE is empty or
# not given) that are resident in the daemon, or in process PID.
resident_kb() {
    awk -v f="${1:-}" '/^[0-9a-f]+-/ { mine = ((f == "" ? $6 ~ /^\// : $6 == f) && $2 !~ /w/) }
        /^Rss:/ && mine { kb += $2 } END { print kb + 0 }' "/proc/${2:-$SLIRP_PID}/smaps"
}

# kB of read-only segments (code, constants) in FILE.
read_only_kb() {
    local size kb=0
    for size in $(readelf -lW "$1" | awk '$1 == "LOAD" && $7 !~ /W/ { print $6 }'); do
        kb=$((kb + size / 1024))
    done
    echo $kb
}

# start_held FLAGS...: like start_slirp, but returns while the daemon is
# blocked writing to its ready-fd; release_ready lets it go on.
start_held() {
    rm -f "$WORK/ready"
    mkfifo "$WORK/ready"
    exec 8<>"$WORK/ready"
    head -c 65536 /dev/zero >&8 # a pipe holds 64 KiB: now it is full
    ASAN_OPTIONS=$(leak_check_options "$@") "$SLIRP" --ready-fd=9 "$@" 9>"$WORK/ready" \
        >"$WORK/slirp.log" 2>&1 &
    SLIRP_PID=$!
    BACKGROUND_PIDS+=($SLIRP_PID)
    wait_until 60 grep -q pipe_write "/proc/$SLIRP_PID/wchan" ||
        fail "$*: the daemon never reached its ready-fd write"
}
release_ready() {
    head -c 65536 <&8 >/dev/null
    local ready
    ready=$(timeout 10 head -c 1 <&8)
    exec 8<&-
    [ "$ready" = 1 ] || fail "ready-fd gave '$ready'"
}

# keeper_releases FLAGS: the keeper's read-only pages, resident after it
# opened a listener for a port the guest had not used, go once it is quiet.
keeper_busy=- keeper_kb=-
keeper_releases() {
    local keeper body
    keeper=$(tcp_keeper_pid)
    [ -n "$keeper" ] || fail "$1: the daemon has no slirp4netns-tcp process"
    body=$(in_guest curl -s -m 10 http://10.0.2.2:8001/)
    [ "$body" = "hello from host" ] || fail "$1: HTTP to a new port returned '$body'"
    keeper_busy=$(resident_kb "" "$keeper")
    keeper_quiet() { [ "$(resident_kb "" "$keeper")" -lt "$keeper_busy" ]; }
    wait_until 30 keeper_quiet ||
        fail "$1: the keeper still has $(resident_kb "" "$keeper") kB of read-only pages resident, as after its listener"
    keeper_kb=$(resident_kb "" "$keeper")
    log "$1: the keeper: $keeper_busy kB of read-only file pages resident after a new port's listener, $keeper_kb once quiet"
}

http_server 8000
http_server 8001
binary=$(readlink -f "$SLIRP")
total=$(read_only_kb "$binary")
[ "$total" -gt 0 ] || fail "could not read the segments of $binary"
for flags in "-c" "-c --enable-sandbox --enable-seccomp"; do
    start_guest
    rm -f "$WORK/api.sock"
    start_held $flags --api-socket "$WORK/api.sock" "$GUEST_PID" tap0
    at_ready=$(resident_kb "$binary")
    release_ready
    # The release follows the ready write: wait for it (a hang guard only).
    released() { [ "$(resident_kb "$binary")" -lt "$at_ready" ]; }
    wait_until 30 released || fail "$flags: still $(resident_kb "$binary") kB resident, as at ready"
    own=$(resident_kb "$binary")
    log "$flags: $at_ready kB of $total kB of code and constants resident at ready, $own once idle"
    body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
    [ "$body" = "hello from host" ] || fail "$flags: HTTP after the release returned '$body'"
    assert_kernel_tcp "$WORK/api.sock"
    api "$WORK/api.sock" '{"execute": "list_hostfwd"}' | grep -q '"entries"' ||
        fail "$flags: the API did not answer after the release"
    # The daemon looks every 5 s; the guest's odd router solicitation does
    # not count as traffic. A look that fell between the API's answer and
    # the count would leave nothing more to go: then the API once more. The
    # bound only guards a hang.
    quiet() { [ "$(resident_kb)" -lt "$busy" ]; }
    for attempt in 1 2; do
        api "$WORK/api.sock" '{"execute": "get_stats"}' | grep -q '"uptime_ms"' ||
            fail "$flags: get_stats did not answer"
        busy=$(resident_kb)
        wait_until 30 quiet && break
        [ $attempt = 1 ] || fail "$flags: still $(resident_kb) kB of read-only pages resident, as after traffic"
    done
    quiet_kb=$(resident_kb)
    log "$flags: $busy kB of read-only file pages resident after traffic and the API, $quiet_kb once quiet"
    body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
    [ "$body" = "hello from host" ] || fail "$flags: HTTP after the quiet release returned '$body'"
    # Only kernel-to-kernel delivery has a keeper (not a run over bridge or slirp).
    [ "$(stats_field "$WORK/api.sock" kernel_tcp_delivery)" = redirect ] && keeper_releases "$flags"
    stop_slirp
    [ "$SLIRP_STATUS" = 0 ] || fail "$flags: exit status $SLIRP_STATUS"
done
pass "read-only pages resident: $at_ready kB at ready, $own kB once idle (of $total); traffic and API fine;\
 all files' $busy kB after traffic, $quiet_kb once quiet; the keeper's $keeper_busy kB, $keeper_kb once quiet"
