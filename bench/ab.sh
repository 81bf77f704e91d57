#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/ab.sh: a quick interleaved A/B of a few throughput or latency figures, for
# deciding whether one change moves a ratio before running all of `make
# bench`. Hermetic like the tests (tests/lib.sh's host namespace).
#   bench/ab.sh NAME=BINARY[,OPTION...]... [-- FIGURE...]
# OPTIONs (comma-separated) go to that candidate's daemon, e.g.
# redirect=./slirp4netns,--tcp-path=redirect bridge=./slirp4netns,--tcp-path=bridge.
# FIGURE is out_MTU or in_MTU (iperf3 netns->host or host->netns: Gbit/s,
# the daemon's CPU seconds per GB (with its slirp4netns-tcp child) and the
# whole machine's, from /proc/stat) or lat_MTU (sockperf ping-pong of 64 bytes: p50 and p99
# in us), or udpout_MTU / udpin_MTU (iperf3 -u -b 0 -l 1400 netns->host or
# host->netns: the received rate, CPU seconds per GB received and the
# percentage lost), or udpgso_MTU (tests/integration/udp-peer.py's gso-send
# in the netns, 64 KB writes of 1400-byte datagrams with UDP_SEGMENT, to its
# sink on the host's loopback through 10.0.2.2: the sink's received rate and
# CPU seconds per GB received); the default is out_65520 in_65520. Each round runs
# every candidate once per figure, the candidate order rotating per round;
# prints per-figure medians (Gbit/s and CPU seconds per GB, or p50 and p99),
# the idle RSS, and each candidate's ratio to the first one.
# Knobs: AB_ROUNDS (5), AB_SECONDS (iperf3 duration, 3).
set -u
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_DIR/../tests/lib.sh"

ROUNDS=${AB_ROUNDS:-5}
SECS=${AB_SECONDS:-3}
HELPER="/usr/bin/python3 $BENCH_DIR/helper.py"
NAMES=()
declare -A BIN OPTS
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    [[ $1 == *=* ]] || fail "candidate '$1' is not NAME=BINARY[,OPTION...]"
    name=${1%%=*} spec=${1#*=}
    NAMES+=("$name")
    BIN[$name]=${spec%%,*}
    OPTS[$name]=
    [[ $spec == *,* ]] && OPTS[$name]=${spec#*,}
    [ -x "${BIN[$name]}" ] || fail "candidate binary ${BIN[$name]} is not executable"
    shift
done
[ ${#NAMES[@]} -gt 0 ] || fail "usage: bench/ab.sh NAME=BINARY[,OPTION...]... [-- FIGURE...]"
[ "${1:-}" = -- ] && shift
FIGURES=("$@")
[ ${#FIGURES[@]} -gt 0 ] || FIGURES=(out_65520 in_65520)
for f in "${FIGURES[@]}"; do
    [[ $f =~ ^(out|in|lat|udpout|udpin|udpgso)_[0-9]+$ ]] ||
        fail "figure '$f' is not out_MTU, in_MTU, lat_MTU, udpout_MTU, udpin_MTU or udpgso_MTU"
done
SAMPLES=$WORK/ab.tsv
: >"$SAMPLES"

background iperf3 -s -B 127.0.0.1 -p 5201 >/dev/null 2>&1
background sockperf server --tcp -i 127.0.0.1 -p 11111 >/dev/null 2>&1
wait_until 10 port_is_listening 5201 || fail "iperf3 server did not start"
wait_until 10 port_is_listening 11111 || fail "sockperf server did not start"

# latency NAME FIGURE: sockperf's p50 and p99 through the candidate, as
# make bench measures them.
latency() {
    local name=$1 fig=$2 out p50 p99
    out=$(in_guest sockperf ping-pong --tcp -i 10.0.2.2 -p 11111 -t "$SECS" --msg-size 64 2>&1)
    if read -r p50 p99 < <($HELPER sockperf-percentiles 2>/dev/null <<<"$out"); then
        printf '%s_p50\t%s\t%s\n%s_p99\t%s\t%s\n' "$fig" "$name" "$p50" "$fig" "$name" "$p99" >>"$SAMPLES"
    else
        log "$name $fig failed: $(tail -n 1 <<<"$out")"
    fi
}

run_one() {
    local name=$1 fig=$2 dir=${2%%_*} mtu=${2#*_}
    start_guest
    SLIRP=${BIN[$name]}
    local opts=()
    IFS=, read -r -a opts <<<"${OPTS[$name]}"
    start_slirp -c --mtu="$mtu" "${opts[@]}" "$GUEST_PID" tap0 || fail "$name did not start"
    sleep 0.2
    echo "rss	$name	$($HELPER rss-kb "$SLIRP_PID")" >>"$SAMPLES"
    if [ "$dir" = lat ]; then
        latency "$name" "$fig"
    elif [ "$dir" = udpgso ]; then
        udpgso_once "$name" "$fig"
    else
        iperf_once "$name" "$fig" "$dir"
    fi
    stop_slirp
    kill "$GUEST_PID" 2>/dev/null
    wait "$GUEST_PID" 2>/dev/null
}

iperf_once() {
    local name=$1 fig=$2 dir=$3 cpu0 cpu1 m0 m1 out bytes bps lost
    cpu0=$($HELPER cpu-seconds "$SLIRP_PID")
    m0=$($HELPER machine-cpu)
    local opt=()
    [[ $dir == udp* ]] && opt=(-u -b 0 -l 1400)
    [[ $dir == *in ]] && opt+=(-R)
    in_guest iperf3 -c 10.0.2.2 -p 5201 -t "$SECS" -J "${opt[@]}" >"$WORK/iperf.json" 2>&1
    m1=$($HELPER machine-cpu)
    cpu1=$($HELPER cpu-seconds "$SLIRP_PID")
    if out=$($HELPER iperf-bytes "$WORK/iperf.json" --lost 2>&1); then
        read -r bytes bps lost <<<"$out"
        awk -v f="$fig" -v n="$name" -v b="$bytes" -v r="$bps" -v c0="$cpu0" -v c1="$cpu1" -v m0="$m0" -v m1="$m1" \
            'BEGIN { printf "%s\t%s\t%.3f\n%s_cpu\t%s\t%.3f\n%s_mcpu\t%s\t%.3f\n", f, n, r / 1e9,
                     f, n, (c1 - c0) / (b / 1e9), f, n, (m1 - m0) / (b / 1e9) }' >>"$SAMPLES"
        [[ $dir == udp* ]] && printf '%s_loss\t%s\t%s\n' "$fig" "$name" "$lost" >>"$SAMPLES"
    else
        log "$name $fig failed: $out"
    fi
}

# udpgso_once NAME FIGURE: the guest's UDP_SEGMENT writes for $SECS s; the
# sink counts until 1 s of silence, so the rate is what it got over the
# sender's seconds, and the CPU is for all of it.
udpgso_once() {
    local name=$1 fig=$2 cpu0 cpu1 m0 m1 got bytes port=7200
    local sink=$WORK/sink.out peer=$TESTS_DIR/integration/udp-peer.py
    wait_until 10 sh -c "! ss -Hlun 'sport = :$port' | grep -q ." || fail "the last sink is still there"
    background python3 "$peer" sink 127.0.0.1 "$port" $((SECS + 60)) >"$sink"
    wait_until 10 sh -c "ss -Hlun 'sport = :$port' | grep -q ." || fail "the sink did not start"
    cpu0=$($HELPER cpu-seconds "$SLIRP_PID")
    m0=$($HELPER machine-cpu)
    in_guest python3 "$peer" gso-send 10.0.2.2 "$port" "$SECS" >/dev/null
    wait_until 30 grep -q received "$sink" || fail "$name $fig: the sink never ended"
    m1=$($HELPER machine-cpu)
    cpu1=$($HELPER cpu-seconds "$SLIRP_PID")
    got=$(cat "$sink")
    read -r _ _ bytes _ <<<"$got"
    if [[ $got == "received "*" bad 0" ]] && [ "$bytes" -gt 0 ]; then
        awk -v f="$fig" -v n="$name" -v b="$bytes" -v s="$SECS" -v c0="$cpu0" -v c1="$cpu1" -v m0="$m0" -v m1="$m1" \
            'BEGIN { printf "%s\t%s\t%.3f\n%s_cpu\t%s\t%.3f\n%s_mcpu\t%s\t%.3f\n", f, n, b * 8 / s / 1e9,
                     f, n, (c1 - c0) / (b / 1e9), f, n, (m1 - m0) / (b / 1e9) }' >>"$SAMPLES"
    else
        log "$name $fig failed: the sink $got"
    fi
}

for ((r = 0; r < ROUNDS; r++)); do
    for fig in "${FIGURES[@]}"; do
        for ((i = 0; i < ${#NAMES[@]}; i++)); do
            run_one "${NAMES[$(((i + r) % ${#NAMES[@]}))]}" "$fig"
        done
    done
    log "round $((r + 1))/$ROUNDS done"
done

/usr/bin/python3 - "$SAMPLES" "${NAMES[@]}" <<'EOF'
import statistics, sys
path, names = sys.argv[1], sys.argv[2:]
data = {}
for line in open(path):
    fig, name, value = line.split("\t")
    data.setdefault(fig, {}).setdefault(name, []).append(float(value))
for fig in data:
    med = {n: statistics.median(data[fig][n]) for n in names if n in data[fig]}
    base = med.get(names[0])
    cells = []
    for n in names:
        if n not in med:
            continue
        ratio = f" ({med[n] / base:.2f}x)" if base and n != names[0] else ""
        cells.append(f"{n} {med[n]:.3f}{ratio} [{' '.join(f'{v:g}' for v in data[fig][n])}]")
    print(f"{fig:16} " + "; ".join(cells))
EOF
pass "ab done"
