#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/busy-poll.sh: what busy polling (--busy-poll, on by default) buys.
# Prints the median p50 of a TCP ping-pong through 10.0.2.2 with it and with
# --busy-poll=0, and bulk netns->host throughput both ways (where it should
# stay off). Figures, not a pass/fail test: tests/integration/busy-poll.sh
# checks that the option works. Run by bench/run.sh, or alone (as root).
. "$(dirname "$0")/../tests/lib.sh"
command -v sockperf >/dev/null || fail "sockperf is missing (make bench installs it)"

background sockperf server --tcp -i 127.0.0.1 -p 11112 >/dev/null 2>&1
background iperf3 -s -B 127.0.0.1 -p 5202 >/dev/null 2>&1
wait_until 10 port_is_listening 11112 || fail "sockperf server did not start"
wait_until 10 port_is_listening 5202 || fail "iperf3 server did not start"

# p50 FLAGS...: sets P50 to the median round-trip half (us) of a 1 s
# ping-pong. (Not in $(...): the guest would hold that pipe open.)
p50() {
    start_guest
    start_slirp -c --mtu=65520 "$@" "$GUEST_PID" tap0 || fail "did not start ($*)"
    P50=$(in_guest sockperf ping-pong --tcp -i 10.0.2.2 -p 11112 -t 1 --msg-size 64 2>&1 |
        /usr/bin/python3 "$(dirname "$0")/helper.py" sockperf-percentiles 2>/dev/null | cut -d' ' -f1)
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

# gbits FLAGS...: sets GBITS to netns->host iperf3 throughput. Bulk from
# the guest turns spinning off, so its sender is not starved.
gbits() {
    start_guest
    start_slirp -c "$@" "$GUEST_PID" tap0 || fail "did not start ($*)"
    GBITS=$(in_guest iperf3 -c 10.0.2.2 -p 5202 -t 2 -J | python3 -c \
        'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9, 2))')
    stop_slirp
}
gbits && bulk_on=$GBITS
gbits --busy-poll=0 && bulk_off=$GBITS
echo "busy-poll: median ping-pong p50 $mid_on us with busy polling, $mid_off us with" \
    "--busy-poll=0; bulk netns->host $bulk_on vs $bulk_off Gbit/s"
