#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/portfwd.sh: port-forwarding throughput, MTU 65520 on the tap.
#  - loopback: a forward on 127.0.0.1, splice mode vs slirp mode (both ours,
#    one daemon) vs rootlesskit --port-driver=builtin;
#  - remote: a forward on 0.0.0.0 reached by a client in another namespace
#    (192.0.2.254, behind a veth): ours in the default mode (transparent
#    splice) vs Debian's slirp4netns 1.2.0 vs rootlesskit builtin, TCP, and
#    UDP (iperf3 -u, 1400-byte datagrams, unlimited rate, the received rate)
#    ours vs Debian's. The run fails unless our guest's iperf3 server saw
#    the client's real address.
# Both directions through the forwarded port: "up" is client -> namespace
# (the iperf3 client sends), "down" is namespace -> client (-R).
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
REMOTE_GUEST_PORT=5302
OURS_REMOTE_PORT=16301
DEBIAN_REMOTE_PORT=16302
RK_REMOTE_PORT=16303
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
OUR_PID=$SLIRP_PID

# The remote client's namespace, and the same forward on 0.0.0.0 (default
# mode, TCP and UDP) to a second guest iperf3 server that logs its clients.
peer_network
background nsenter --target "$GUEST_PID" --net iperf3 -s -p $REMOTE_GUEST_PORT --logfile "$WORK/ours-iperf3.log"
wait_until 10 in_guest sh -c "ss -Hltn 'sport = :$REMOTE_GUEST_PORT' | grep -q ." || fail "guest iperf3 (remote) did not start"
# add_remote SOCKET PORT: TCP and UDP forwards on 0.0.0.0:PORT, default mode.
add_remote() {
    local proto reply
    for proto in tcp udp; do
        reply=$(printf '{"execute":"add_hostfwd","arguments":{"proto":"%s","host_addr":"0.0.0.0","host_port":%s,"guest_port":%s}}' \
            $proto "$2" $REMOTE_GUEST_PORT | socat -t 5 - "UNIX-CONNECT:$1")
        grep -q '"id"' <<<"$reply" || fail "add_hostfwd $proto $2 on $1: $reply"
    done
}
add_remote "$SOCK" $OURS_REMOTE_PORT
REMOTE=(ours)
if original=$(original_slirp4netns); then
    OUR_GUEST=$GUEST_PID
    start_guest
    DEBIAN_GUEST=$GUEST_PID
    if SLIRP=$original start_slirp -c --mtu=65520 -a "$WORK/debian.sock" "$DEBIAN_GUEST" tap0; then
        background nsenter --target "$DEBIAN_GUEST" --net iperf3 -s -p $REMOTE_GUEST_PORT --logfile "$WORK/debian-iperf3.log"
        wait_until 10 in_guest sh -c "ss -Hltn 'sport = :$REMOTE_GUEST_PORT' | grep -q ." || fail "Debian's guest iperf3 did not start"
        add_remote "$WORK/debian.sock" $DEBIAN_REMOTE_PORT
        REMOTE+=(debian)
    else
        log "Debian's slirp4netns did not start, left out"
    fi
    GUEST_PID=$OUR_GUEST
else
    log "Debian's slirp4netns left out"
fi

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
        -p "127.0.0.1:$RK_PORT:$GUEST_PORT/tcp" -p "0.0.0.0:$RK_REMOTE_PORT:$GUEST_PORT/tcp" \
        iperf3 -s -p $GUEST_PORT --logfile "$WORK/rk/iperf3.log" >"$WORK/rk.log" 2>&1
    if wait_until 15 port_is_listening $RK_PORT; then
        CANDIDATES+=(rootlesskit)
        REMOTE+=(rootlesskit)
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

# iperf3_sample METRIC NAME COMMAND...: runs COMMAND (an iperf3 client with
# -J) and records the rate received.
iperf3_sample() {
    local metric=$1 name=$2 gbps
    shift 2
    for attempt in 1 2; do  # iperf3 -s serves one test at a time: retry a busy one
        if gbps=$("$@" 2>/dev/null |
            python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' 2>/dev/null); then
            printf '%s\t%s\t%s\n' "$metric" "$name" "$gbps" >>"$RESULTS"
            log "$metric $name: $gbps Gbit/s"
            return 0
        fi
        sleep 1
    done
    log "$metric $name: iperf3 failed"
}

# measure NAME DIRECTION: one iperf3 run through NAME's forwarded port.
measure() {
    local flags=()
    [ "$2" = down ] && flags=(-R)
    iperf3_sample "portfwd_$2" "$1" iperf3 -c 127.0.0.1 -p "$(port_of "$1")" -t "$SECS" -J "${flags[@]}"
}

remote_port_of() {
    case $1 in
        ours) echo $OURS_REMOTE_PORT ;;
        debian) echo $DEBIAN_REMOTE_PORT ;;
        rootlesskit) echo $RK_REMOTE_PORT ;;
    esac
}

# measure_remote NAME DIRECTION PROTO: one iperf3 run from the peer
# namespace through NAME's forward on 0.0.0.0.
measure_remote() {
    local flags=()
    [ "$2" = down ] && flags+=(-R)
    [ "$3" = udp ] && flags+=(-u -l 1400 -b 0)
    iperf3_sample "remote_${3}_$2" "$1" in_peer iperf3 -c 192.0.2.1 -p "$(remote_port_of "$1")" -t "$SECS" -J "${flags[@]}"
}

echo "portfwd: ${ROUNDS} rounds of ${SECS} s, MTU 65520, loopback: ${CANDIDATES[*]}; remote: ${REMOTE[*]}"
for ((round = 0; round < ROUNDS; round++)); do
    n=${#CANDIDATES[@]}
    for ((i = 0; i < n; i++)); do
        name=${CANDIDATES[$(((i + round) % n))]}
        measure "$name" up
        measure "$name" down
    done
    n=${#REMOTE[@]}
    for ((i = 0; i < n; i++)); do
        name=${REMOTE[$(((i + round) % n))]}
        measure_remote "$name" up tcp
        measure_remote "$name" down tcp
        [ "$name" = rootlesskit ] && continue  # its builtin driver forwards TCP only here
        measure_remote "$name" up udp
        measure_remote "$name" down udp
    done
done
# The same run's proof that our forward kept the client's address.
grep -q "Accepted connection from 192.0.2.254" "$WORK/ours-iperf3.log" ||
    fail "our guest's iperf3 server did not see the client's real address: $(grep -m3 Accepted "$WORK/ours-iperf3.log")"
for f in ours-iperf3 debian-iperf3 rk/iperf3; do
    [ -f "$WORK/$f.log" ] || continue
    echo "portfwd remote: ${f%%-*} guest saw $(grep -m1 -o 'Accepted connection from [^ ,]*' "$WORK/$f.log" | sed 's/.* from //')"
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
for proto in ("tcp", "udp"):
    for d in ("up", "down"):
        m = "remote_%s_%s" % (proto, d)
        row = ["%s %.2f" % (n, med[(m, n)]) for n in ("ours", "debian", "rootlesskit") if (m, n) in med]
        if not row:
            continue
        print("remote %s %-4s Gbit/s (median): %s" % (proto, d, ", ".join(row)))
        o = med.get((m, "ours"))
        for ref, target in (("debian", 2.5), ("rootlesskit", 1.0)):
            r = med.get((m, ref))
            if o and r:
                note = ""
                if proto == "tcp":
                    note = " (target >= %.1fx)%s" % (target, "" if o / r >= target else "  BELOW TARGET")
                print("remote %s %-4s ours / %-11s = %.2fx%s" % (proto, d, ref, o / r, note))
PY
stop_slirp
SLIRP_PID=$OUR_PID stop_slirp
