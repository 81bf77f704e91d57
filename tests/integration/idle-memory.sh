#!/bin/bash
# Once ready, the daemon unmaps the read-only pages that start-up used
# (memory_return.hpp): its own executable keeps well under half of its code
# and constants resident, in a confined daemon too, and traffic and the API
# still work afterwards, faulting back in what they need.
. "$(dirname "$0")/../lib.sh"

# kB of the daemon's read-only mappings of FILE that are resident.
resident_kb() {
    awk -v f="$1" '/^[0-9a-f]+-/ { mine = ($6 == f && $2 !~ /w/) }
        /^Rss:/ && mine { kb += $2 } END { print kb + 0 }' "/proc/$SLIRP_PID/smaps"
}

# kB of read-only segments (code, constants) in FILE.
read_only_kb() {
    local size kb=0
    for size in $(readelf -lW "$1" | awk '$1 == "LOAD" && $7 !~ /W/ { print $6 }'); do
        kb=$((kb + size / 1024))
    done
    echo $kb
}

http_server 8000
binary=$(readlink -f "$SLIRP")
total=$(read_only_kb "$binary")
[ "$total" -gt 0 ] || fail "could not read the segments of $binary"
for flags in "-c" "-c --enable-sandbox --enable-seccomp"; do
    start_guest
    rm -f "$WORK/api.sock"
    start_slirp $flags --api-socket "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start ($flags)"
    sleep 0.5
    own=$(resident_kb "$binary")
    log "$flags: $own of $total kB of code and constants resident"
    [ $((own * 2)) -lt "$total" ] || fail "$flags: $own of $total kB still resident once idle"
    body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
    [ "$body" = "hello from host" ] || fail "$flags: HTTP after the release returned '$body'"
    api "$WORK/api.sock" '{"execute": "list_hostfwd"}' | grep -q '"entries"' ||
        fail "$flags: the API did not answer after the release"
    stop_slirp
    [ "$SLIRP_STATUS" = 0 ] || fail "$flags: exit status $SLIRP_STATUS"
done
pass "idle: $own of $total kB of the executable's read-only pages resident; traffic and API fine"
