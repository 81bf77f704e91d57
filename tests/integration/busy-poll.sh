#!/bin/bash
# Busy polling (--busy-poll, on by default) answers a TCP ping-pong through
# 10.0.2.2 faster than the same daemon with --busy-poll=0, and bulk
# netns->host traffic, where it stays off, keeps its speed.
. "$(dirname "$0")/../lib.sh"
command -v sockperf >/dev/null || fail "sockperf is missing (tests/install-deps.sh installs it)"

background sockperf server --tcp -i 127.0.0.1 -p 11111 >/dev/null 2>&1
background iperf3 -s -B 127.0.0.1 -p 5201 >/dev/null 2>&1
wait_until 10 port_is_listening 11111 || fail "sockperf server did not start"
wait_until 10 port_is_listening 5201 || fail "iperf3 server did not start"

# p50 FLAGS...: sets P50 to the median round-trip half (us) of a 1 s
# ping-pong. (Not in $(...): the guest would hold that pipe open.)
p50() {
    start_guest
    start_slirp -c --mtu=65520 "$@" "$GUEST_PID" tap0 || fail "did not start ($*)"
    P50=$(in_guest sockperf ping-pong --tcp -i 10.0.2.2 -p 11111 -t 1 --msg-size 64 2>&1 |
        sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p')
    stop_slirp
}

# Interleaved, the median of three each. Busy polling saves the wake-up of
# an idle CPU; while something else keeps the CPUs awake both modes measure
# alike (7 us each in one CI round), so one such round must not decide.
on=() off=()
for round in 1 2 3; do
    p50 && on+=("$P50")
    p50 --busy-poll=0 && off+=("$P50")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
mid_on=$(median "${on[@]}") mid_off=$(median "${off[@]}")
[ ${#on[@]} = 3 ] && [ ${#off[@]} = 3 ] && [ -n "$mid_on" ] && [ -n "$mid_off" ] ||
    fail "sockperf gave no percentiles (${on[*]} / ${off[*]})"
log "p50 with busy polling: ${on[*]} us; with --busy-poll=0: ${off[*]} us"
awk -v a="$mid_on" -v b="$mid_off" 'BEGIN { exit !(a < 0.8 * b) }' ||
    fail "busy polling gave a median p50 of $mid_on us against $mid_off us without (want < 0.8x)"

# gbits FLAGS...: sets GBITS to netns->host iperf3 throughput. Bulk from
# the guest turns spinning off, so its sender is not starved.
gbits() {
    start_guest
    start_slirp -c "$@" "$GUEST_PID" tap0 || fail "did not start ($*)"
    GBITS=$(in_guest iperf3 -c 10.0.2.2 -t 2 -J | python3 -c \
        'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9, 2))')
    stop_slirp
}
gbits && bulk_on=$GBITS
gbits --busy-poll=0 && bulk_off=$GBITS
log "netns->host: $bulk_on Gbit/s with busy polling, $bulk_off without"
awk -v a="$bulk_on" -v b="$bulk_off" 'BEGIN { exit !(a > 0.6 * b) }' ||
    fail "bulk netns->host fell to $bulk_on Gbit/s with busy polling ($bulk_off without)"
pass "median p50 $mid_on us vs $mid_off us; bulk $bulk_on vs $bulk_off Gbit/s"
