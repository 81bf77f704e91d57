#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/profile.sh [MTU] [iperf3 options...]: `perf record -g` on our daemon
# while a guest iperf3 client sends to the host through 10.0.2.2 (add -R for
# host->netns), then prints the top of `perf report`. Hermetic like the tests.
#   PROFILE_BIN: binary to profile (default ./slirp4netns), PROFILE_OUT: perf.data path,
#   PROFILE_ARGS: daemon options (e.g. --tcp-path=redirect),
#   PROFILE_SYSTEM=1: the whole machine (perf record -a) rather than the
#   daemon and its slirp4netns-tcp child: with kernel-to-kernel delivery
#   most of the work is the kernel's, in other processes' context.
set -u
. "$(dirname "$0")/../tests/lib.sh"

MTU=${1:-1500}
shift
BIN=${PROFILE_BIN:-$SLIRP}
OUT=${PROFILE_OUT:-/tmp/s4n-perf.data}
command -v perf >/dev/null || fail "perf is missing (apt-get install linux-perf)"

background iperf3 -s -B 127.0.0.1 -p 5201 >/dev/null 2>&1
wait_until 10 port_is_listening 5201 || fail "iperf3 server did not start"
start_guest
SLIRP=$BIN
start_slirp -c --mtu="$MTU" ${PROFILE_ARGS:-} "$GUEST_PID" tap0 || fail "daemon did not start"
sleep 0.3 # start-up children gone
children=$(pgrep -d, -P "$SLIRP_PID" -x slirp4netns-tcp)
target=(-p "$SLIRP_PID${children:+,$children}")
[ -n "${PROFILE_SYSTEM:-}" ] && target=(-a)
perf record -g -o "$OUT" "${target[@]}" -- sleep 4 >/dev/null 2>&1 &
perf_pid=$!
sleep 0.3
in_guest iperf3 -c 10.0.2.2 -t 3 "$@" | grep -E "sender|receiver"
wait $perf_pid
perf report -i "$OUT" --no-children -g none --percent-limit 0.7 --stdio 2>/dev/null | grep -v '^$' | head -n 80
stop_slirp
pass "profile in $OUT"
