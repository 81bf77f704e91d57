#!/bin/bash
# bench/portfwd.sh: port-forwarding throughput, splice mode vs slirp mode
# (both ours, one daemon) vs rootlesskit --port-driver=builtin, MTU 65520.
# Both directions through the forwarded port: "up" is host -> namespace
# (iperf3 client on the host sends), "down" is namespace -> host (-R).
# Candidates are interleaved and their order rotates every round; medians
# and the ratios against their targets are printed at the end.
#
#   bash bench/portfwd.sh [SAMPLES]   SAMPLES: also append "metric name Gbps"
#                                     lines (tab-separated), as bench/run.sh
#                                     collects them
# Knobs: BENCH_ROUNDS (3), BENCH_SECONDS (3), SLIRP (our binary).
# Hermetic like the tests: the host side is the namespace tests/lib.sh makes
# (or the caller's, when run from bench/run.sh inside it).
set -u
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$BENCH_DIR/../tests/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-3}
OUT=${1:-}
GUEST_PORT=5301
SPLICE_PORT=15301
SLIRP_PORT=15302
RK_PORT=15303
SOCK=$WORK/api.sock
RESULTS=$WORK/portfwd.tsv
: >"$RESULTS"

for tool in iperf3 socat; do
    command -v $tool >/dev/null || skip "$tool is not installed (make deps)"
done
[ -x "$SLIRP" ] || fail "our binary $SLIRP is missing: run make first"

# Ours: one daemon, the same guest iperf3 server behind a splice-mode and a
# slirp-mode forward.
start_guest
start_slirp -c --mtu=65520 -a "$SOCK" "$GUEST_PID" tap0 || fail "our daemon did not start"
background nsenter --target "$GUEST_PID" --net iperf3 -s -p $GUEST_PORT
wait_until 10 in_guest sh -c "ss -Hltn 'sport = :$GUEST_PORT' | grep -q ." || fail "guest iperf3 did not start"
for spec in "$SPLICE_PORT splice" "$SLIRP_PORT slirp"; do
    set -- $spec
    reply=$(printf '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":%s,"guest_port":%s,"mode":"%s"}}' \
        "$1" $GUEST_PORT "$2" | socat -t 5 - "UNIX-CONNECT:$SOCK")
    grep -q '"id"' <<<"$reply" || fail "add_hostfwd $2: $reply"
done
CANDIDATES=(splice slirp)

# rootlesskit's builtin driver: its own namespaces (as the unprivileged test
# user, which rootlesskit expects), Debian's slirp4netns for the network, and
# the port spliced by rootlesskit itself.
if command -v rootlesskit >/dev/null && [ -x /usr/bin/slirp4netns ]; then
    ensure_test_user
    [ "$(stat -c %a /dev/net/tun 2>/dev/null)" = 666 ] || world_usable_tun
    install -d -o "$TEST_USER" "$WORK/rk"
    background setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env -- \
        env HOME="$WORK/rk" XDG_RUNTIME_DIR="$WORK/rk" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        rootlesskit --state-dir="$WORK/rk/state" --net=slirp4netns --slirp4netns-binary=/usr/bin/slirp4netns \
        --mtu=65520 --disable-host-loopback --port-driver=builtin \
        -p "127.0.0.1:$RK_PORT:$GUEST_PORT/tcp" iperf3 -s -p $GUEST_PORT >"$WORK/rk.log" 2>&1
    if wait_until 15 port_is_listening $RK_PORT; then
        CANDIDATES+=(rootlesskit)
    else
        log "rootlesskit builtin did not listen, left out: $(tail -n 2 "$WORK/rk.log")"
    fi
else
    log "rootlesskit or /usr/bin/slirp4netns is not installed: rootlesskit left out"
fi

port_of() {
    case $1 in
        splice) echo $SPLICE_PORT ;;
        slirp) echo $SLIRP_PORT ;;
        rootlesskit) echo $RK_PORT ;;
    esac
}

# measure NAME DIRECTION: one iperf3 run through NAME's forwarded port.
measure() {
    local name=$1 dir=$2 flags=() gbps
    [ "$dir" = down ] && flags=(-R)
    for attempt in 1 2; do  # iperf3 -s serves one test at a time: retry a busy one
        if gbps=$(iperf3 -c 127.0.0.1 -p "$(port_of "$name")" -t "$SECS" -J "${flags[@]}" 2>/dev/null |
            python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' 2>/dev/null); then
            printf '%s\t%s\t%s\n' "portfwd_$dir" "$name" "$gbps" >>"$RESULTS"
            log "$name $dir: $gbps Gbit/s"
            return 0
        fi
        sleep 1
    done
    log "$name $dir: iperf3 failed"
}

echo "portfwd: ${ROUNDS} rounds of ${SECS} s, MTU 65520, candidates: ${CANDIDATES[*]}"
for ((round = 0; round < ROUNDS; round++)); do
    n=${#CANDIDATES[@]}
    for ((i = 0; i < n; i++)); do
        name=${CANDIDATES[$(((i + round) % n))]}
        measure "$name" up
        measure "$name" down
    done
done
[ -n "$OUT" ] && cat "$RESULTS" >>"$OUT"

python3 - "$RESULTS" <<'PY'
import statistics, sys
samples = {}
for line in open(sys.argv[1]):
    metric, name, value = line.split("\t")
    samples.setdefault((metric, name), []).append(float(value))
med = {k: statistics.median(v) for k, v in samples.items()}
for d in ("up", "down"):
    m = "portfwd_" + d
    row = ["%s %.2f" % (n, med[(m, n)]) for n in ("splice", "slirp", "rootlesskit") if (m, n) in med]
    print("portfwd %-4s Gbit/s (median): %s" % (d, ", ".join(row)))
    s = med.get((m, "splice"))
    for ref, target in (("rootlesskit", 1.0), ("slirp", 2.5)):
        r = med.get((m, ref))
        if s and r:
            print("portfwd %-4s splice / %-11s = %.2fx (target >= %.1fx)%s" %
                  (d, ref, s / r, target, "" if s / r >= target else "  BELOW TARGET"))
PY
stop_slirp
