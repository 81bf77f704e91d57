#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/run.sh: `make bench`. Runs our slirp4netns with each TCP path and
# delivery (and both UDP paths) side by side with Debian's slirp4netns 1.2.0
# and pasta, interleaved (candidate order rotates every round), and hands the
# samples to bench/report.py, which prints medians, the kernel-to-kernel
# delivery's ratios to the others and its targets, and writes
# bench/results.json and bench/results.png.
#
# Hermetic like the tests: everything runs inside the fresh host namespace
# tests/lib.sh creates (only loopback, plus a veth whose peer goes nowhere so
# that pasta finds a template interface). Services listen on 127.0.0.1 there
# and the guests reach them through the gateway 10.0.2.2.
#
# Candidates are named by path, whatever our default is: redirect is ours
# with --tcp-path=redirect (kernel-to-kernel delivery), bridge ours with
# --tcp-path=bridge (the daemon copies the kernel TCP path's frames), slirp
# ours with --tcp-path=slirp, kernel ours with --tcp-path=kernel (the
# default: redirect where it can be had); slirp4netns is Debian's 1.2.0 and
# pasta Debian's passt; veth is no slirp at all, the machine's ceiling: the
# guest reaches 10.0.2.2 over a veth pair into this host namespace, to
# servers of its own bound there (throughput figures only). A binary that
# does not know redirect or bridge runs --tcp-path=kernel in their place
# (the report notes it), so that older builds can still be measured. What
# each of ours actually delivered with is read from get_stats and noted.
#
# UDP (BENCH_FIGURES with udp), in a session of each candidate's own after
# its TCP one, at both MTUs: 1400-byte datagrams each way (iperf3 -u), the
# best received rate at which the receiver loses at most 1 % (a few short
# runs stepping down from what -b 0 got through; that is recorded too);
# the guest's 64 KB UDP_SEGMENT writes to a UDP_GRO sink on the host
# (tests/integration/udp-peer.py), received rate and loss; at 65520,
# sockperf's UDP ping-pong of 64 bytes (p50, p99); each with the daemon's
# and the machine's CPU per GB received. redirect, bridge and kernel share
# the kernel UDP path: redirect and kernel get the guest's UDP by tc
# (tc_redirect.hpp's UDP veth), bridge reads it from the tap as
# --udp-path=tap does; slirp (--tcp-path=slirp) runs libslirp's UDP, as
# --udp-path=slirp does.
# Measured: 10-22 s per candidate and MTU with 1 s runs, 19-39 s with 2 s
# (the default): about 4 minutes a round for four candidates.
#
# The measured cost of a candidate is its daemon's plus that of its
# slirp4netns-tcp child (redirect's, in its private namespace): CPU seconds,
# RSS and descriptors (bench/helper.py). The machine's CPU comes from
# /proc/stat, the kernel's TCP memory from /proc/net/sockstat (one count for
# the whole machine on this kernel, whatever namespace reads it).
#
# Knobs: BENCH_ROUNDS (3), BENCH_SECONDS (iperf3 duration, 3),
# BENCH_CANDIDATES ("redirect bridge slirp slirp4netns pasta veth"; any of
# those and kernel), BENCH_IDLE_CONNS (10000, or fewer when the open-file hard
# limit leaves no room for two descriptors each in the daemon: idle
# connections held open; their memory is reported per 10,000),
# BENCH_PARALLEL (4: iperf3 -P), BENCH_CONNS (1000), BENCH_MOVE_KIB (256:
# what each of the BENCH_CONNS connections moves each way before the memory
# figure), BENCH_FLOOD_SYNS (100000), BENCH_EXTRAS (1; 0 leaves out
# bench/portfwd.sh and bench/busy-poll.sh at the end), BENCH_FIGURES ("tcp
# udp": which figures; "udp" alone leaves out everything TCP, extras
# included), BENCH_UDP_SECONDS (2: each UDP iperf3 run and the GSO run),
# BENCH_OUTPUT (the directory for results.json and results.png, default
# bench/), SLIRP (our binary, default ./slirp4netns).
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -z "${S4N_IN_HOST_NS:-}" ]; then
    # Bench-only packages: the peers and the measuring tools.
    need=()
    for p in slirp4netns passt iperf3 sockperf gnuplot-nox rootlesskit uidmap python3 linux-perf; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
    done
    if [ ${#need[@]} -gt 0 ]; then
        echo "installing: ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
            { echo "bench: cannot install ${need[*]}" >&2; exit 1; }
    fi
fi

. "$BENCH_DIR/../tests/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-3}
CONNS=${BENCH_CONNS:-1000}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
PARALLEL=${BENCH_PARALLEL:-4}
EXTRAS=${BENCH_EXTRAS:-1}
MOVE_BYTES=$((${BENCH_MOVE_KIB:-256} * 1024))
FLOOD_SYNS=${BENCH_FLOOD_SYNS:-100000}
FIGURES=" ${BENCH_FIGURES:-tcp udp} "
UDP_SECONDS=${BENCH_UDP_SECONDS:-2}
UDP_SIZE=1400
UDP_LOSS=1
UDP_STEPS=5
UDP_REFINE=2
CANDIDATES=(${BENCH_CANDIDATES:-redirect bridge slirp slirp4netns pasta veth})
OUTPUT=${BENCH_OUTPUT:-$BENCH_DIR}
OURS=$SLIRP
PEER=/usr/bin/slirp4netns
HELPER="/usr/bin/python3 $BENCH_DIR/helper.py"
HELPER_PEER="/usr/bin/python3 $REPO/tests/integration/udp-peer.py"
SAMPLES=$WORK/samples.tsv
NOTES=$WORK/notes.txt
IPERF_PORT=5201
FWD_PORT=15201
HOLD_PORT=7000
SOCKPERF_PORT=11111
UDP_SINK_PORT=5301
: >"$SAMPLES"
: >"$NOTES"

[ -x "$OURS" ] || fail "our binary $OURS is missing: run make first"
for name in "${CANDIDATES[@]}"; do
    case $name in
        redirect | bridge | kernel | slirp | slirp4netns | pasta | veth) ;;
        *) fail "BENCH_CANDIDATES: unknown candidate '$name' (redirect bridge kernel slirp slirp4netns pasta veth)" ;;
    esac
done
for f in $FIGURES; do
    case $f in
        tcp | udp) ;;
        *) fail "BENCH_FIGURES: unknown figure set '$f' (tcp udp)" ;;
    esac
done
figures() { [[ $FIGURES == *" $1 "* ]]; }
note() {
    grep -qxF "$*" "$NOTES" || echo "$*" >>"$NOTES"
    log "$*"
}
sample() { echo "$1	$2	$3" >>"$SAMPLES"; }
udp_port_bound() { ss -Hlun "sport = :$1" | grep -q .; }

# The idle connections need a socket each in the client and the holder, and
# two in a daemon that keeps a host socket and a private namespace's socket
# for each. Without CAP_SYS_RESOURCE the hard limit is where it stops: fewer
# connections are held then, and their memory scaled to 10,000.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ -z "${BENCH_IDLE_CONNS:-}" ] && [ "$IDLE_CONNS" -gt $(((hard - 1000) / 2)) ]; then
    IDLE_CONNS=$(((hard - 1000) / 2))
    note "open-file hard limit $hard: $IDLE_CONNS idle connections held, not 10000 (their memory scaled to 10,000)"
fi
want=$((IDLE_CONNS * 2 + 1000))
[ "$want" -lt 8192 ] && want=8192
[ "$hard" != unlimited ] && [ "$want" -gt "$hard" ] && want=$hard
ulimit -n "$want" || fail "cannot raise the open-file limit to $want"

ensure_test_user
world_usable_tun
mkdir -p "$WORK/u"
chown "$TEST_USER" "$WORK/u"
# pasta copies addresses and routes from a host interface; a veth whose peer
# has no address and no route makes a template that leads nowhere.
ip link add s4nb0 type veth peer name s4nb1
ip link set s4nb1 up
ip addr add 10.0.2.15/24 dev s4nb0
ip link set s4nb0 up
ip route add default via 10.0.2.2 dev s4nb0

background iperf3 -s -B 127.0.0.1 -p $IPERF_PORT >/dev/null 2>&1
background sockperf server --tcp -i 127.0.0.1 -p $SOCKPERF_PORT >/dev/null 2>&1
background sockperf server -i 127.0.0.1 -p $SOCKPERF_PORT >/dev/null 2>&1
background $HELPER hold-server $HOLD_PORT $MOVE_BYTES >/dev/null 2>&1
wait_until 10 port_is_listening $IPERF_PORT || fail "iperf3 server did not start"
wait_until 10 port_is_listening $SOCKPERF_PORT || fail "sockperf server did not start"
wait_until 10 udp_port_bound $SOCKPERF_PORT || fail "sockperf's UDP server did not start"
wait_until 10 port_is_listening $HOLD_PORT || fail "connection holder did not start"

# --- candidates -------------------------------------------------------------
# OUR_PATH[NAME]: the --tcp-path value for our candidate NAME (a stand-in
# where ours lacks that value: see below, before the run).
declare -A OUR_PATH=([redirect]=redirect [bridge]=bridge [kernel]=kernel [slirp]=slirp)

# What each of our candidates should report as get_stats'
# kernel_tcp_delivery (kernel: whichever the daemon chose).
declare -A WANT_DELIVERY=([redirect]=redirect [bridge]=bridge [slirp]=none)

# check_delivery NAME: notes the delivery our candidate NAME runs with, and
# loudly when it is not the one its name promises.
check_delivery() {
    local name=$1 path delivery want=${WANT_DELIVERY[$1]:-}
    [ -S "$WORK/api.sock" ] || return 0
    path=$(stats_field "$WORK/api.sock" tcp_path 2>/dev/null) || path="?"
    delivery=$(stats_field "$WORK/api.sock" kernel_tcp_delivery 2>/dev/null) || delivery="(not reported)"
    if [ -n "$want" ] && [ "$delivery" != "$want" ] && [ "$delivery" != "(not reported)" ]; then
        note "$name: ran with kernel_tcp_delivery $delivery (tcp_path $path), not $want: its figures are not $want's"
    else
        note "$name: --tcp-path=${OUR_PATH[$name]}, tcp_path $path, kernel_tcp_delivery $delivery; measured: $($HELPER processes "$CAND_PID")"
    fi
}

# What each of our candidates should report as get_stats' udp_path:
# --tcp-path=slirp without --udp-path keeps libslirp's UDP.
declare -A WANT_UDP=([redirect]=kernel [bridge]=kernel [kernel]=kernel [slirp]=slirp)

# check_udp_path NAME: notes the UDP path our candidate NAME runs with.
check_udp_path() {
    local name=$1 got
    [ -S "$WORK/api.sock" ] || return 0
    got=$(stats_field "$WORK/api.sock" udp_path 2>/dev/null) || got="(not reported)"
    if [ "$got" = "${WANT_UDP[$name]}" ]; then
        note "$name: udp_path $got"
    else
        note "$name: ran with udp_path $got, not ${WANT_UDP[$name]}: its UDP figures are not that path's"
    fi
}

# cand_start NAME MTU: a guest namespace (GUEST_PID) connected by NAME;
# CAND_PID is the process whose CPU time and memory are measured.
cand_start() {
    local name=$1 mtu=$2
    case $name in
        redirect | bridge | kernel | slirp | slirp4netns)
            start_guest
            [ "$name" = slirp4netns ] && SLIRP=$PEER || SLIRP=$OURS
            local path=()
            [ "$name" = slirp4netns ] || path=(--tcp-path=${OUR_PATH[$name]})
            rm -f "$WORK/api.sock"
            # The API socket is only needed for port forwarding: should a
            # candidate refuse it, the other figures are still measured.
            if ! start_slirp -c "${path[@]}" --mtu="$mtu" --api-socket "$WORK/api.sock" "$GUEST_PID" tap0; then
                note "$name: no API socket ($(tail -n 1 "$WORK/slirp.log")): port forwarding skipped"
                start_slirp -c "${path[@]}" --mtu="$mtu" "$GUEST_PID" tap0 ||
                    fail "$name did not start at MTU $mtu: $(tail -n 1 "$WORK/slirp.log")"
            fi
            CAND_PID=$SLIRP_PID
            # Start-up children (the private namespace's maker) are gone
            # before anything is measured.
            wait_until 10 sh -c "! ps -o comm= --ppid $SLIRP_PID | grep -qvxE 'slirp4netns-(fwd|tcp)'" ||
                note "$name: start-up children still running 10 s after ready"
            [ "$name" = slirp4netns ] || check_delivery "$name"
            ;;
        pasta)
            rm -f "$WORK/u/guest.pid" "$WORK/u/pasta.pid"
            as_test_user unshare --user --map-root-user --net \
                sh -c "ip link set lo up; echo \$\$ >$WORK/u/guest.pid; exec sleep 1000" &
            BACKGROUND_PIDS+=($!)
            wait_until 5 test -s "$WORK/u/guest.pid" || fail "pasta's guest did not start"
            GUEST_PID=$(cat "$WORK/u/guest.pid")
            BACKGROUND_PIDS+=($GUEST_PID)
            # Only the tap path: no automatic port mirroring either way.
            as_test_user pasta -f -q --config-net -m "$mtu" -a 10.0.2.100 -n 24 -g 10.0.2.2 \
                -t "$FWD_PORT:$IPERF_PORT" -u none -T none -U none -P "$WORK/u/pasta.pid" \
                "$GUEST_PID" >"$WORK/pasta.log" 2>&1 &
            BACKGROUND_PIDS+=($!)
            wait_until 10 in_guest sh -c 'ip -o -4 addr show | grep -q 10.0.2.100' ||
                fail "pasta did not configure the guest: $(grep -v syslog "$WORK/pasta.log" | tail -3)"
            wait_until 5 test -s "$WORK/u/pasta.pid" || fail "pasta wrote no pid file"
            CAND_PID=$(cat "$WORK/u/pasta.pid")
            BACKGROUND_PIDS+=($CAND_PID)
            ;;
        veth)
            # 10.0.2.2/32 only: the subnet's route stays s4nb0's, pasta's
            # template; replies go to the guest's 10.0.3.0/24 over the veth.
            start_guest
            ip link add s4nv0 mtu "$mtu" type veth peer name s4nv1 mtu "$mtu" netns "$GUEST_PID"
            ip addr add 10.0.2.2/32 dev s4nv0
            ip addr add 10.0.3.2/24 dev s4nv0
            ip link set s4nv0 up
            in_guest sh -c 'ip addr add 10.0.3.100/24 dev s4nv1 && ip link set s4nv1 up &&
                ip route add 10.0.2.2/32 dev s4nv1'
            iperf3 -s -B 10.0.2.2 -p $IPERF_PORT >/dev/null 2>&1 &
            VETH_SERVER=$!
            BACKGROUND_PIDS+=($VETH_SERVER)
            wait_until 10 sh -c "ss -Hltn 'src 10.0.2.2 and sport = :$IPERF_PORT' | grep -q ." ||
                fail "veth: iperf3 server on 10.0.2.2 did not start"
            # Nothing between the two kernels: the guest's own process
            # stands in (record_run leaves out its daemon CPU figures).
            CAND_PID=$GUEST_PID
            ;;
    esac
}

cand_stop() {
    if [ -n "${VETH_SERVER:-}" ]; then
        kill "$VETH_SERVER" 2>/dev/null
        wait "$VETH_SERVER" 2>/dev/null
        ip link del s4nv0 2>/dev/null
        VETH_SERVER=
    fi
    kill "$CAND_PID" "$GUEST_PID" 2>/dev/null
    wait_until 5 sh -c "! kill -0 $CAND_PID 2>/dev/null" || kill -9 "$CAND_PID" 2>/dev/null
    wait_until 5 sh -c "! kill -0 $GUEST_PID 2>/dev/null" || kill -9 "$GUEST_PID" 2>/dev/null
}

# --- measurements -----------------------------------------------------------
# measure_start / measure_stop: the candidate's and the whole machine's CPU
# seconds (every process and interrupt, the traffic's ends included) around
# a step; cpu_per_gb BYTES then sets RUN_CPU and RUN_MCPU, both per GB of
# BYTES received.
measure_start() {
    CPU0=$($HELPER cpu-seconds "$CAND_PID")
    MCPU0=$($HELPER machine-cpu)
}
measure_stop() {
    MCPU1=$($HELPER machine-cpu)
    CPU1=$($HELPER cpu-seconds "$CAND_PID")
}
cpu_per_gb() {
    RUN_CPU=$(awk -v c0="$CPU0" -v c1="$CPU1" -v b="$1" 'BEGIN { printf "%.3f", (b > 0 ? (c1 - c0) / (b / 1e9) : 0) }')
    RUN_MCPU=$(awk -v c0="$MCPU0" -v c1="$MCPU1" -v b="$1" 'BEGIN { printf "%.3f", (b > 0 ? (c1 - c0) / (b / 1e9) : 0) }')
}

# iperf_run SECONDS [iperf3 options]: one guest iperf3 client run to the
# host through 10.0.2.2. Sets RUN_BYTES received, RUN_GBPS (the received
# rate), RUN_LOST (percent of the datagrams the receiver missed; 0 for TCP),
# RUN_CPU and RUN_MCPU; on failure RUN_ERR, and returns 1.
iperf_run() {
    local secs=$1 out
    shift
    measure_start
    in_guest iperf3 -c 10.0.2.2 -p $IPERF_PORT -t "$secs" -J "$@" >"$WORK/iperf.json" 2>&1
    measure_stop
    if ! out=$($HELPER iperf-bytes "$WORK/iperf.json" --lost 2>&1); then
        RUN_ERR=$out
        return 1
    fi
    read -r RUN_BYTES bps RUN_LOST <<<"$out"
    cpu_per_gb "$RUN_BYTES"
    RUN_GBPS=$(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 1e9 }')
}

# record_run NAME METRIC: the last run's received rate as METRIC, its CPU
# seconds per GB as cpu_METRIC and mcpu_METRIC.
record_run() {
    sample "$2" "$1" "$RUN_GBPS"
    [ "$1" = veth ] || sample "cpu_$2" "$1" "$RUN_CPU" # veth has no daemon
    sample "mcpu_$2" "$1" "$RUN_MCPU"
}

# throughput NAME METRIC [iperf3 options]: TCP, guest iperf3 client to the
# host through 10.0.2.2; records Gbit/s, the candidate's CPU seconds per GB
# (cpu_METRIC) and the whole machine's (mcpu_METRIC).
throughput() {
    local name=$1 metric=$2
    shift 2
    if ! iperf_run "$SECONDS_PER_RUN" "$@"; then
        note "$name: $metric failed: $RUN_ERR"
        return 1
    fi
    record_run "$name" "$metric"
}

# within_loss: the last run lost at most UDP_LOSS % of its datagrams.
within_loss() { awk -v l="$RUN_LOST" -v m="$UDP_LOSS" 'BEGIN { exit !(l <= m) }'; }

# udp_throughput NAME METRIC [-R]: the highest received rate of UDP_SIZE-byte
# datagrams at which the receiver loses at most UDP_LOSS %. iperf3 -b 0
# (recorded as udp_blast_*) floods the tap and loses much there; from its
# received rate the offered rate steps down by 0.7 until the loss is
# within bounds (UDP_STEPS runs at most), then UDP_REFINE times halfway
# (geometrically) between the highest rate within bounds and the lowest
# that lost too much (one such step left a 20 % gap, wide enough to swing
# a candidate's figure by that much from round to round). The rate, CPU
# per GB and loss are those of the best run within bounds. -w 4M: iperf3's
# ends with the default 208 KiB buffers lost 2 % at 0.3 Gbit/s on the bare
# loopback here, none at 0.9 Gbit/s with 4 MiB: the figure is the
# candidate's, not the receiver's.
udp_throughput() {
    local name=$1 metric=$2 dir=${3:-} udp=(-u -l "$UDP_SIZE" -w 4M)
    local rate over="" step best="" best_cpu best_mcpu trail low refine
    if ! iperf_run "$UDP_SECONDS" "${udp[@]}" -b 0 $dir; then
        note "$name: $metric failed: $RUN_ERR"
        return 1
    fi
    if [ "$RUN_BYTES" = 0 ]; then
        note "$name: $metric: no datagram arrived"
        return 1
    fi
    sample "${metric/udp_/udp_blast_}" "$name" "$RUN_GBPS"
    trail="-b 0: $RUN_GBPS Gbit/s, $RUN_LOST % lost"
    if within_loss; then
        best=$RUN_GBPS best_cpu=$RUN_CPU best_mcpu=$RUN_MCPU
    else
        rate=$(awk -v g="$RUN_GBPS" 'BEGIN { printf "%.0f", g * 1e9 }')
        for ((step = 0; step < UDP_STEPS; step++)); do
            iperf_run "$UDP_SECONDS" "${udp[@]}" -b "$rate" $dir || continue
            trail+="; -b $rate: $RUN_GBPS, $RUN_LOST %"
            if within_loss; then
                best=$RUN_GBPS best_cpu=$RUN_CPU best_mcpu=$RUN_MCPU
                break
            fi
            over=$rate
            rate=$(awk -v r="$rate" 'BEGIN { printf "%.0f", r * 0.7 }')
        done
        if [ -n "$best" ] && [ -n "$over" ]; then
            low=$rate
            for ((refine = 0; refine < UDP_REFINE; refine++)); do
                rate=$(awk -v a="$low" -v b="$over" 'BEGIN { printf "%.0f", sqrt(a * b) }')
                iperf_run "$UDP_SECONDS" "${udp[@]}" -b "$rate" $dir || break
                trail+="; -b $rate: $RUN_GBPS, $RUN_LOST %"
                if ! within_loss; then
                    over=$rate
                    continue
                fi
                low=$rate
                if awk -v a="$RUN_GBPS" -v b="$best" 'BEGIN { exit !(a > b) }'; then
                    best=$RUN_GBPS best_cpu=$RUN_CPU best_mcpu=$RUN_MCPU
                fi
            done
        fi
    fi
    log "$name: $metric: $trail"
    if [ -z "$best" ]; then
        note "$name: $metric: no offered rate down to $rate bit/s lost at most $UDP_LOSS % (last: $RUN_LOST %)"
        return 1
    fi
    RUN_GBPS=$best RUN_CPU=$best_cpu RUN_MCPU=$best_mcpu
    record_run "$name" "$metric"
}

# udp_gso NAME METRIC: the guest sends 64 KB writes of UDP_SIZE-byte
# segments (UDP_SEGMENT) for UDP_SECONDS to a sink on the host's loopback
# (UDP_GRO); records the received rate, the CPU per GB received and the
# share of datagrams lost (udp_gso_loss_*). Nothing paces the sender: the
# rate is what arrives while it writes as fast as the guest's kernel takes.
udp_gso() {
    local name=$1 metric=$2 sink sent received
    $HELPER_PEER sink 127.0.0.1 $UDP_SINK_PORT "$UDP_SECONDS" >"$WORK/sink.out" 2>&1 &
    sink=$!
    if ! wait_until 5 udp_port_bound $UDP_SINK_PORT; then
        note "$name: $metric: the sink did not start: $(tail -n 1 "$WORK/sink.out")"
        kill $sink 2>/dev/null
        wait $sink 2>/dev/null
        return 1
    fi
    measure_start
    sent=$(in_guest $HELPER_PEER gso-send 10.0.2.2 $UDP_SINK_PORT "$UDP_SECONDS" "$UDP_SIZE" 2>&1)
    # The sink ends 1 s after the last datagram; one that got none would
    # wait far longer.
    wait_until 5 sh -c "! kill -0 $sink 2>/dev/null" || kill $sink 2>/dev/null
    wait $sink 2>/dev/null
    measure_stop
    received=$(cat "$WORK/sink.out")
    if ! [[ $sent =~ ^sent\ [0-9]+\ [0-9]+$ && $received =~ ^received\ [0-9]+\ [0-9]+\ bad\ 0$ ]]; then
        note "$name: $metric failed: $(tail -n 1 <<<"$sent"); $(tail -n 1 <<<"$received")"
        return 1
    fi
    read -r _ RUN_DGRAMS RUN_BYTES _ <<<"$received"
    if [ "$RUN_BYTES" = 0 ]; then
        note "$name: $metric: no datagram arrived ($sent)"
        return 1
    fi
    cpu_per_gb "$RUN_BYTES"
    RUN_GBPS=$(awk -v b="$RUN_BYTES" -v s="$UDP_SECONDS" 'BEGIN { printf "%.3f", b * 8 / s / 1e9 }')
    record_run "$name" "$metric"
    sample "${metric/udp_gso_/udp_gso_loss_}" "$name" "$(awk -v r="$RUN_DGRAMS" -v s="$(cut -d' ' -f2 <<<"$sent")" \
        'BEGIN { printf "%.2f", (s > 0 ? (s - r) * 100 / s : 0) }')"
}

# latency NAME PROTO: sockperf ping-pong of 64-byte messages over PROTO (tcp
# or udp) to the host through 10.0.2.2: p50 and p99 in us.
latency() {
    local name=$1 proto=$2 out p50 p99 opt=() prefix=""
    [ "$proto" = tcp ] && opt=(--tcp) || prefix=udp_
    out=$(in_guest sockperf ping-pong "${opt[@]}" -i 10.0.2.2 -p $SOCKPERF_PORT -t "$SECONDS_PER_RUN" \
        --msg-size 64 2>&1)
    if ! read -r p50 p99 < <($HELPER sockperf-percentiles 2>/dev/null <<<"$out"); then
        note "$name: sockperf over $proto gave no percentiles: $(tail -n 2 <<<"$out")"
        return 1
    fi
    sample "${prefix}latency_p50" "$name" "$p50"
    sample "${prefix}latency_p99" "$name" "$p99"
}

# api_hostfwd: asks the candidate's API socket to forward FWD_PORT.
api_hostfwd() {
    local reply
    reply=$(printf '{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "127.0.0.1", "host_port": %d, "guest_port": %d}}' \
        $FWD_PORT $IPERF_PORT | timeout 5 socat - "UNIX-CONNECT:$WORK/api.sock" 2>&1)
    grep -q '"return"' <<<"$reply" && ! grep -q '"error"' <<<"$reply" && return 0
    echo "${reply:-no reply}"
    return 1
}

# port_forward NAME: host iperf3 client -> forwarded port -> server in guest.
port_forward() {
    local name=$1 why cpu0 cpu1 out
    [ "$name" != pasta ] && [ ! -S "$WORK/api.sock" ] && return 0
    if [ "$name" != pasta ] && ! why=$(api_hostfwd); then
        note "$name: port forwarding skipped: API add_hostfwd failed: $why"
        return 0
    fi
    in_guest iperf3 -s -1 -p $IPERF_PORT >/dev/null 2>&1 &
    local server=$!
    wait_until 5 in_guest sh -c "ss -Hltn 'sport = :$IPERF_PORT' | grep -q ." ||
        { note "$name: iperf3 server in the guest did not start"; kill $server; return 0; }
    cpu0=$($HELPER cpu-seconds "$CAND_PID")
    iperf3 -c 127.0.0.1 -p $FWD_PORT -t "$SECONDS_PER_RUN" -J >"$WORK/iperf.json" 2>&1
    cpu1=$($HELPER cpu-seconds "$CAND_PID")
    kill $server 2>/dev/null
    wait $server 2>/dev/null
    if ! out=$($HELPER iperf-bytes "$WORK/iperf.json" 2>&1); then
        note "$name: port forwarding failed: $out"
        return 0
    fi
    read -r bytes bps <<<"$out"
    sample port_forward "$name" "$(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 1e9 }')"
}

# hold_open NAME COUNT [BYTES]: COUNT connections from the guest to the
# holder, each having moved BYTES each way (or one byte up), kept open until
# hold_close. Fails (with a note) when they could not all be made.
hold_open() {
    local name=$1 count=$2
    rm -f "$WORK/hold.out"
    mkfifo "$WORK/hold.in" 2>/dev/null
    in_guest env HOLD_PARTIAL="${HOLD_PARTIAL:-0}" $HELPER hold-client 10.0.2.2 $HOLD_PORT "$count" ${3:-} \
        <"$WORK/hold.in" >"$WORK/hold.out" 2>&1 &
    HOLD_CLIENT=$!
    exec 8>"$WORK/hold.in"
    # hold-client gives up by itself (60 s plus 1 s per 50 connections).
    wait_until $((180 + count / 50)) grep -q "^connected" "$WORK/hold.out" && return 0
    note "$name: $count connections${3:+ moving $3 bytes}: $(tail -n 1 "$WORK/hold.out")"
    hold_close
    return 1
}

# hold_close: ends the connections and waits until the guest's ends have
# finished closing: a guest killed with FINs still unanswered leaves
# orphans in its dead namespace that keep the machine's TCP memory for
# minutes, in the next candidates' figures.
hold_close() {
    exec 8>&-
    wait $HOLD_CLIENT 2>/dev/null
    wait_until 60 guest_closed || note "guest's connections still closing 60 s after the client ended"
}
guest_closed() { [ "$(in_guest ss -Htn state connected exclude time-wait | wc -l)" -lt 10 ]; }

# many_connections NAME: IDLE_CONNS idle connections (one byte up each)
# held open: the candidate's descriptors per connection, the growth of its
# RSS and of the machine's kernel TCP memory, its RSS with them open, and
# throughput while they stay open (compared with the same run's figure
# without them). A candidate that refuses some (its descriptor limit) is
# measured with those it took, and noted.
many_connections() {
    local name=$1 fds0 rss0 tcp0 fds1 rss1 tcp1 held
    sleep 1 # the previous steps' closed connections give their buffers back
    tcp0=$($HELPER sockstat-kb --settle) fds0=$($HELPER fd-count "$CAND_PID") rss0=$($HELPER rss-kb "$CAND_PID")
    HOLD_PARTIAL=1 hold_open "$name" "$IDLE_CONNS" || return 0
    held=$(awk '/^connected/ { print $2; exit }' "$WORK/hold.out")
    [ "$held" = "$IDLE_CONNS" ] || note "$name: idle connections: $(grep '^connected' "$WORK/hold.out")"
    sleep 2 # idle: last ACKs settle
    fds1=$($HELPER fd-count "$CAND_PID") rss1=$($HELPER rss-kb "$CAND_PID") tcp1=$($HELPER sockstat-kb)
    sample idle_fds_per_conn "$name" "$(awk -v a="$fds0" -v b="$fds1" -v n="$held" \
        'BEGIN { printf "%.3f", (b - a) / n }')"
    # Memory per 10,000 connections, whatever number was held. The total
    # is held to a bound: a fall of the machine's TCP memory meanwhile is
    # others' memory going back, and counts as none rather than against ours.
    local tcp=$((tcp1 - tcp0))
    sample idle_rss "$name" $(((rss1 - rss0) * 10000 / held))
    sample idle_tcp "$name" $((tcp * 10000 / held))
    sample idle_total "$name" $(((rss1 - rss0 + (tcp > 0 ? tcp : 0)) * 10000 / held))
    sample rss_conns "$name" "$rss1"
    throughput "$name" tput_with_conns
    hold_close
}

# quiet_rss NAME: RSS once everything above has gone quiet for 12 s: what a
# helper left running beside an idle container keeps after its busy hours.
# Ours gives memory back when its 5 s check finds traffic quiet (two checks
# fit in 12 s); Debian's slirp4netns and pasta never look.
quiet_rss() {
    sleep 12
    sample rss_quiet "$1" "$($HELPER rss-kb "$CAND_PID")"
}

# moved_connections NAME: CONNS connections that each moved MOVE_BYTES each
# way and then went idle: growth of the candidate's RSS, of the machine's
# kernel TCP memory (sockstat's "mem" is global on this kernel, so it is read
# here in the bench's host namespace and takes in every namespace involved,
# and whatever else the machine runs), and of the kernel memory of the
# candidate's own TCP sockets (its private namespace's included).
moved_connections() {
    local name=$1 rss0 tcp0 own0 rss1 tcp1 own1
    sleep 1 # the previous steps' closed connections give their buffers back
    tcp0=$($HELPER sockstat-kb --settle) rss0=$($HELPER rss-kb "$CAND_PID") own0=$($HELPER socket-mem-kb "$CAND_PID")
    hold_open "$name" "$CONNS" $MOVE_BYTES || return 0
    sleep 2 # idle: last ACKs and window updates settle
    rss1=$($HELPER rss-kb "$CAND_PID") tcp1=$($HELPER sockstat-kb) own1=$($HELPER socket-mem-kb "$CAND_PID")
    hold_close
    sample moved_rss "$name" $((rss1 - rss0))
    sample moved_tcp "$name" $((tcp1 - tcp0))
    local tcp=$((tcp1 - tcp0))
    sample moved_total "$name" $((rss1 - rss0 + (tcp > 0 ? tcp : 0))) # as for idle_total
    sample moved_own_sockets "$name" $((own1 - own0))
}

# syn_flood NAME: FLOOD_SYNS SYNs from the guest, each a flow of its own to
# a random port in 203.0.113.0/24, all delivered to the candidate (what its
# tap dropped is sent again), while list_hostfwd is timed every 20 ms on the
# API socket. The candidate's connects stay pending until they fail: the
# default route's gateway, behind the veth that goes nowhere, never answers
# ARP.
syn_flood() {
    local name=$1 flood out
    [ -S "$WORK/api.sock" ] || return 0
    in_guest python3 "$REPO/tests/integration/syn-flood.py" tap0 "$FLOOD_SYNS" >"$WORK/flood.log" 2>&1 &
    flood=$!
    out=$($HELPER api-latency "$WORK/api.sock" $flood 2>&1)
    wait $flood
    if ! grep -q "delivered $FLOOD_SYNS$" "$WORK/flood.log"; then
        note "$name: SYN flood failed: $(tail -n 1 "$WORK/flood.log")"
        return 0
    fi
    read -r p50 max requests failed <<<"$out"
    if [ -z "${requests:-}" ] || [ "$failed" != 0 ]; then
        note "$name: list_hostfwd during the SYN flood: ${failed:-?} of ${requests:-?} failed ($out)"
        return 0
    fi
    sample flood_api_p50 "$name" "$p50"
    sample flood_api_max "$name" "$max"
}

# ready_time NAME BINARY [OPTION]: milliseconds from exec to the ready-fd
# byte, with READY_FLAGS (the same for all, so the figures compare).
# Start-up takes ~3 ms with rare 10 ms outliers (scheduling on 2 shared
# cores), so each round times it 5 times per candidate.
ready_time() {
    local name=$1 bin=$2 extra=${3:-} ms i
    for i in 1 2 3 4 5; do
        start_guest
        if ms=$($HELPER ready-time "$bin" --ready-fd={fd} $READY_FLAGS $extra "$GUEST_PID" tap0 2>&1); then
            sample ready_ms "$name" "$ms"
        else
            note "$name: not ready with $READY_FLAGS: $ms"
        fi
        kill "$GUEST_PID"
        wait "$GUEST_PID" 2>/dev/null
    done
}

# Our sandbox and seccomp filter may not exist yet: then both are timed
# without them, and the report says so.
READY_FLAGS="-c --enable-sandbox --enable-seccomp"
start_guest
if ! why=$($HELPER ready-time "$OURS" --ready-fd={fd} $READY_FLAGS "$GUEST_PID" tap0 2>&1); then
    note "time to ready measured with -c only: ours fails with $READY_FLAGS ($why)"
    READY_FLAGS="-c"
fi
kill "$GUEST_PID"
wait "$GUEST_PID" 2>/dev/null

# A build from before kernel-to-kernel delivery refuses --tcp-path=redirect
# and bridge: --tcp-path=kernel stands in for them (its delivery, bridge,
# is what check_delivery then notes).
for name in redirect bridge; do
    [[ " ${CANDIDATES[*]} " == *" $name "* ]] || continue
    start_guest
    if ! why=$($HELPER ready-time "$OURS" --ready-fd={fd} -c --tcp-path=$name "$GUEST_PID" tap0 2>&1); then
        OUR_PATH[$name]=kernel
        unset "WANT_DELIVERY[$name]"
        note "$name: ours refuses --tcp-path=$name ($why): --tcp-path=kernel stands in for it"
    fi
    kill "$GUEST_PID"
    wait "$GUEST_PID" 2>/dev/null
done

# rootlesskit's own port driver, as a reference for port forwarding only.
rootlesskit_forward() {
    command -v rootlesskit >/dev/null || { note "rootlesskit: not installed, skipped"; return 0; }
    mkdir -p "$WORK/u/rk"
    chown "$TEST_USER" "$WORK/u/rk"
    as_test_user rootlesskit --state-dir="$WORK/u/rk/state" --net=slirp4netns \
        --slirp4netns-binary="$PEER" --mtu=65520 --disable-host-loopback --port-driver=builtin \
        -p "127.0.0.1:$FWD_PORT:$IPERF_PORT/tcp" iperf3 -s -1 -p $IPERF_PORT >"$WORK/rk.log" 2>&1 &
    local rk=$!
    if ! wait_until 10 port_is_listening $FWD_PORT; then
        note "rootlesskit: port driver did not listen: $(tail -n 1 "$WORK/rk.log")"
        kill $rk 2>/dev/null
        wait $rk 2>/dev/null
        return 0
    fi
    sleep 0.5
    iperf3 -c 127.0.0.1 -p $FWD_PORT -t "$SECONDS_PER_RUN" -J >"$WORK/iperf.json" 2>&1
    local out
    if out=$($HELPER iperf-bytes "$WORK/iperf.json" 2>&1); then
        read -r bytes bps <<<"$out"
        sample port_forward rootlesskit "$(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 1e9 }')"
    else
        note "rootlesskit: port forwarding failed: $out"
    fi
    kill $rk 2>/dev/null
    wait $rk 2>/dev/null
    wait_until 5 sh -c "! ss -Hltn 'sport = :$FWD_PORT' | grep -q ." || true
}

# --- the run ----------------------------------------------------------------
# tcp_figures NAME MTU: one session of candidate NAME for the TCP figures.
tcp_figures() {
    local name=$1 mtu=$2
    cand_start "$name" "$mtu"
    if [ "$name" = veth ]; then
        throughput "$name" "out_$mtu"
        throughput "$name" "in_$mtu" -R
        cand_stop
        return
    fi
    if [ "$mtu" = 65520 ]; then
        sleep 0.3
        sample rss_idle "$name" "$($HELPER rss-kb "$CAND_PID")"
    fi
    throughput "$name" "out_$mtu"
    throughput "$name" "in_$mtu" -R
    if [ "$mtu" = 65520 ]; then
        throughput "$name" "p${PARALLEL}_out_$mtu" -P "$PARALLEL"
        throughput "$name" "p${PARALLEL}_in_$mtu" -R -P "$PARALLEL"
        latency "$name" tcp
        # Before the steps that leave sockets closing behind them.
        moved_connections "$name"
        port_forward "$name"
        many_connections "$name"
        # Before the flood, whose pending connects only the kernel
        # path would still hold.
        quiet_rss "$name"
        # The path the design bounds; libslirp's path is not.
        case $name in redirect | kernel) syn_flood "$name" ;; esac
    fi
    cand_stop
}

# udp_figures NAME MTU: a session of its own, so that the UDP flows (and the
# kernel UDP path's buffers) stay out of the TCP session's memory figures.
udp_figures() {
    local name=$1 mtu=$2
    cand_start "$name" "$mtu"
    case $name in slirp4netns | pasta | veth) ;; *) check_udp_path "$name" ;; esac
    udp_throughput "$name" "udp_out_$mtu"
    udp_throughput "$name" "udp_in_$mtu" -R
    [ "$name" = veth ] && { cand_stop; return; }
    udp_gso "$name" "udp_gso_out_$mtu"
    [ "$mtu" = 65520 ] && latency "$name" udp
    cand_stop
}

rotate() {
    local n=$1 i
    shift
    local list=("$@")
    for ((i = 0; i < ${#list[@]}; i++)); do
        echo "${list[$(((i + n) % ${#list[@]}))]}"
    done
}

echo "bench: ${ROUNDS} rounds, ${SECONDS_PER_RUN} s per iperf3 run, figures:${FIGURES% }, candidates: ${CANDIDATES[*]}"
figures udp && echo "bench: UDP: $UDP_SIZE-byte datagrams, ${UDP_SECONDS} s per iperf3 run, the best rate losing at most $UDP_LOSS %"
echo "bench: ours = $OURS (redirect: --tcp-path=${OUR_PATH[redirect]}, bridge: --tcp-path=${OUR_PATH[bridge]}, kernel: --tcp-path=kernel, slirp: --tcp-path=slirp); slirp4netns = $($PEER --version | head -n1); pasta = $(dpkg-query -W -f='${Version}' passt 2>/dev/null)"
echo "bench: $IDLE_CONNS idle connections, $CONNS connections moving $((MOVE_BYTES / 1024)) KiB, iperf3 -P $PARALLEL"
for ((round = 0; round < ROUNDS; round++)); do
    order=($(rotate $round "${CANDIDATES[@]}"))
    echo "bench: round $((round + 1))/$ROUNDS (${order[*]})"
    # Other work on the machine enters the machine's CPU figures: what it
    # takes while the bench itself idles is recorded beside them.
    m0=$($HELPER machine-cpu)
    sleep 2
    m1=$($HELPER machine-cpu)
    sample background_cpu machine "$(awk -v a="$m0" -v b="$m1" 'BEGIN { printf "%.1f", (b - a) / 2 * 100 }')"
    if figures tcp; then
        for name in "${order[@]}"; do
            case $name in
                redirect | bridge | kernel | slirp) ready_time "$name" "$OURS" --tcp-path=${OUR_PATH[$name]} ;;
                slirp4netns) ready_time slirp4netns "$PEER" ;;
            esac
        done
    fi
    for mtu in 1500 65520; do
        for name in "${order[@]}"; do
            if figures tcp; then
                started=$SECONDS
                tcp_figures "$name" $mtu
                echo "bench: $name at MTU $mtu, TCP: $((SECONDS - started)) s"
            fi
            if figures udp; then
                started=$SECONDS
                udp_figures "$name" $mtu
                echo "bench: $name at MTU $mtu, UDP: $((SECONDS - started)) s"
            fi
        done
    done
    figures tcp && rootlesskit_forward
done

if [ "$EXTRAS" != 0 ] && figures tcp; then
    # Port forwarding at kernel speed: splice mode vs slirp mode vs
    # rootlesskit's builtin driver, in this same host namespace.
    BENCH_ROUNDS=$ROUNDS BENCH_SECONDS=$SECONDS_PER_RUN SLIRP=$OURS bash "$BENCH_DIR/portfwd.sh" ||
        note "portfwd.sh failed"

    # Busy polling on and off (figures moved out of the pass/fail tests).
    SLIRP=$OURS bash "$BENCH_DIR/busy-poll.sh" || note "busy-poll.sh failed"
fi

BENCH_IDLE_CONNS=$IDLE_CONNS BENCH_PARALLEL=$PARALLEL BENCH_CONNS=$CONNS \
    /usr/bin/python3 "$BENCH_DIR/report.py" "$SAMPLES" "$NOTES" "$OUTPUT/results.json" \
    "$OUTPUT/results.png" || fail "report failed"
