# SPDX-License-Identifier: GPL-2.0-or-later
# tests/lib.sh: the one file integration tests source (it sources
# tests/lib-clients.sh, the helpers for clients, itself). Source it first:
#
#   . "$(dirname "$0")/../lib.sh"     # re-runs the test inside a fresh host
#                                       # network + mount namespace
#   start_guest                         # a target network namespace (GUEST_PID)
#   start_slirp -c "$GUEST_PID" tap0   # our daemon, waited on via ready-fd
#   in_guest curl http://10.0.2.2:8000/
#   pass "what was shown"               # or fail / skip
#
# Hermetic by construction: the "host" side of slirp4netns is a network
# namespace this file creates, holding only loopback (plus what a test adds),
# and /etc/resolv.conf is private to the test's mount namespace.

set -u

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$TESTS_DIR/.." && pwd)
SLIRP=${SLIRP:-$REPO/slirp4netns}
TEST_NAME=$(basename "$0" .sh)

if [ -z "${S4N_IN_HOST_NS:-}" ]; then
    export S4N_IN_HOST_NS=1
    exec unshare --net --mount --propagation private bash "$0" "$@"
fi

ip link set lo up
WORK=$(mktemp -d "/tmp/s4n-$TEST_NAME.XXXXXX")
chmod 755 "$WORK"
BACKGROUND_PIDS=()

# Sanitizer and memcheck reports (make check-asan, make check-valgrind) land
# in $REPORTS, world-writable because rootless daemons write there too; any
# report fails the test even when its own checks passed.
REPORTS=$WORK/reports
mkdir -m 1777 "$REPORTS"
export S4N_REPORTS=$REPORTS
if [ -n "${S4N_SANITIZED:-}" ]; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$REPORTS/asan"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$REPORTS/ubsan"
fi

# sanitizer_reports: prints every report found; false when there is none.
sanitizer_reports() {
    local f found=1
    for f in "$REPORTS"/* "$WORK"/slirp.log; do
        [ -s "$f" ] || continue
        case $(basename "$f") in
            asan.* | ubsan.*) ;;
            vg.*) grep -qE 'ERROR SUMMARY: [1-9]' "$f" || continue ;;
            *) grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer' "$f" || continue ;;
        esac
        found=0
        echo "--- report in $(basename "$f") ---"
        head -n 60 "$f"
    done
    return $found
}

# descendants PID: every process below PID, each before its own children.
descendants() {
    local child
    for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

cleanup() {
    local pid below=()
    # What a background job started ends with it: `in_guest COMMAND &` is a
    # subshell, and COMMAND would outlive it.
    for pid in "${BACKGROUND_PIDS[@]}"; do
        below+=($(descendants "$pid"))
    done
    for pid in "${BACKGROUND_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${BACKGROUND_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    [ ${#below[@]} -eq 0 ] || kill "${below[@]}" 2>/dev/null
    if sanitizer_reports; then
        echo "FAIL: $TEST_NAME: sanitizer or memcheck report (above)"
        rm -rf "$WORK"
        exit 1
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "# $*" >&2; }
pass() {
    echo "PASS: $TEST_NAME${1:+: $1}"
    exit 0
}
fail() {
    echo "FAIL: $TEST_NAME: $*"
    if [ -s "$WORK/slirp.log" ]; then
        echo "--- slirp4netns output ---"
        tail -n 30 "$WORK/slirp.log"
    fi
    exit 1
}
skip() {
    echo "SKIP: $TEST_NAME: $*"
    exit 77
}

# expect DESCRIPTION COMMAND...: fails the test unless COMMAND succeeds.
expect() {
    local what=$1
    shift
    "$@" || fail "$what (command: $*)"
}

# expect_not DESCRIPTION COMMAND...: fails the test if COMMAND succeeds.
expect_not() {
    local what=$1
    shift
    if "$@"; then fail "$what (unexpectedly succeeded: $*)"; fi
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.1
    done
}

# ms_since START: milliseconds since START, a `date +%s%N` taken earlier
# (for the log: no test passes or fails on a duration).
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

background() {
    "$@" &
    BACKGROUND_PIDS+=($!)
}

# start_guest [unshare options]: a process sitting in a new network namespace.
# Sets GUEST_PID. The guest's own loopback is brought up.
start_guest() {
    unshare --net "$@" sh -c 'ip link set lo up; exec sleep 1000' &
    GUEST_PID=$!
    BACKGROUND_PIDS+=($GUEST_PID)
    wait_until 5 guest_has_own_netns || fail "guest namespace did not appear"
}

# limited_guest [PREFIX...]: a guest whose user namespace (unshare -U -r, run
# through PREFIX) allows the one network namespace the guest is in, so that
# the daemon's kernel TCP path cannot make its own and falls back.
limited_guest() {
    "$@" unshare --user --map-root-user --net sh -c \
        'echo 1 >/proc/sys/user/max_net_namespaces && ip link set lo up && exec sleep 1000' &
    GUEST_PID=$!
    BACKGROUND_PIDS+=($GUEST_PID)
    wait_until 5 guest_has_own_netns || fail "guest namespace did not appear"
}

guest_has_own_netns() {
    local theirs
    theirs=$(readlink "/proc/$GUEST_PID/ns/net") || return 1
    [ "$theirs" != "$(readlink /proc/self/ns/net)" ]
}

# kill_guest: every process in the guest's network namespace dies at once
# (SIGKILL), as when a container ends.
kill_guest() {
    local guest_ns p victims=()
    guest_ns=$(readlink "/proc/$GUEST_PID/ns/net")
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$guest_ns" ] && victims+=("${p#/proc/}")
    done
    kill -KILL "${victims[@]}"
}

# in_guest COMMAND...: runs COMMAND in the guest's network namespace (and its
# user namespace, when it has its own).
in_guest() {
    if [ "$(readlink /proc/$GUEST_PID/ns/user)" != "$(readlink /proc/self/ns/user)" ]; then
        nsenter --target "$GUEST_PID" --net --user --preserve-credentials -- "$@"
    else
        nsenter --target "$GUEST_PID" --net -- "$@"
    fi
}

# guest_has_ra_address: the guest's tap0 has its global IPv6 address from
# the daemon's router advertisement (fd00::/64), past duplicate address
# detection: a tentative address is not a source yet, the guest would
# connect from its link-local one, which libslirp serves (the kernel TCP path
# takes sources inside fd00::/64).
guest_has_ra_address() { in_guest ip -o -6 addr show dev tap0 scope global -tentative | grep -q "inet6 fd00::"; }

# start_slirp ARGS...: runs our daemon with a ready-fd and waits until it is
# ready. Sets SLIRP_PID; output goes to $WORK/slirp.log. Returns non-zero if
# it exits before becoming ready.
# S4N_TCP_PATH=kernel|slirp adds --tcp-path (unless ARGS give one), to run
# any test over either TCP path.
start_slirp() {
    rm -f "$WORK/ready"
    mkfifo "$WORK/ready"
    if [ -n "${S4N_TCP_PATH:-}" ] && [[ " $* " != *" --tcp-path="* ]]; then
        set -- "--tcp-path=$S4N_TCP_PATH" "$@"
    fi
    ASAN_OPTIONS=$(leak_check_options "$@") "$SLIRP" --ready-fd=9 "$@" 9>"$WORK/ready" >"$WORK/slirp.log" 2>&1 &
    SLIRP_PID=$!
    BACKGROUND_PIDS+=($SLIRP_PID)
    local ready
    ready=$(timeout 10 cat "$WORK/ready")
    [ "$ready" = 1 ] || {
        log "slirp4netns did not become ready (got '$ready')"
        return 1
    }
}

# leak_check_options ARGS...: ASAN_OPTIONS for a daemon run with ARGS.
# LeakSanitizer's exit-time check stops the world with clone+ptrace and reads
# /proc/self/task: the seccomp allowlist forbids the former and the sandbox's
# root has no /proc, so a confined daemon cannot be leak-checked (ASan and
# UBSan still watch every access). Unconfined tests leak-check the same paths.
leak_check_options() {
    case " $* " in
        *" --enable-seccomp "* | *" --enable-sandbox "*)
            [ -n "${S4N_SANITIZED:-}" ] && { echo "${ASAN_OPTIONS:-}:detect_leaks=0"; return; } ;;
    esac
    echo "${ASAN_OPTIONS:-}"
}

# stop_slirp: SIGTERM and wait; sets SLIRP_STATUS.
stop_slirp() {
    kill -TERM "$SLIRP_PID" 2>/dev/null
    wait "$SLIRP_PID"
    SLIRP_STATUS=$?
}

# http_server PORT [ADDRESS]: a tiny HTTP server on the host side that
# answers every GET with "hello from host".
http_server() {
    local port=$1 address=${2:-127.0.0.1}
    mkdir -p "$WORK/www"
    echo "hello from host" >"$WORK/www/index.html"
    background python3 -m http.server "$port" --bind "$address" --directory "$WORK/www" \
        >/dev/null 2>&1
    wait_until 10 port_is_listening "$port" || fail "http server on $address:$port did not start"
}

# original_slirp4netns: prints the path of Debian's original slirp4netns
# ($S4N_ORIGINAL, by default /usr/bin/slirp4netns), for comparing with it;
# fails, with the reason logged, when there is none or it is this project's
# own binary installed in its place.
original_slirp4netns() {
    local original=${S4N_ORIGINAL:-/usr/bin/slirp4netns}
    if [ ! -x "$original" ]; then
        log "no original slirp4netns at $original (make deps installs Debian's)"
        return 1
    fi
    if [ "$("$original" --version | head -n 1)" = "$("$SLIRP" --version | head -n 1)" ]; then
        log "$original is this project's binary, not the original"
        return 1
    fi
    echo "$original"
}

# splice_peer_servers: starts splice-peer.py's servers inside the guest
# (ports 7001-7007, see its opening comment), with $WORK/guest as their
# directory, and waits until they listen.
splice_peer_servers() {
    mkdir -p "$WORK/guest"
    # nsenter execs the server, so the pid kept for cleanup is the server itself.
    background nsenter --target "$GUEST_PID" --net python3 "$TESTS_DIR/integration/splice-peer.py" \
        serve "$WORK/guest"
    wait_until 10 test -e "$WORK/guest/ready" || fail "guest servers did not start"
}

# api SOCKET JSON (or api-client.py's other modes): one request to a daemon's
# API socket, printing the reply.
api() { python3 "$TESTS_DIR/integration/api-client.py" "$@"; }

# stats_field SOCKET FIELD: one value of a daemon's get_stats reply.
stats_field() {
    api "$1" '{"execute":"get_stats"}' |
        python3 -c "import json, sys; print(json.load(sys.stdin)['return']['$2'])"
}

# assert_kernel_tcp SOCKET [MIN]: fails unless the daemon behind SOCKET runs
# the kernel TCP path, delivered as S4N_TCP_DELIVERY says (default
# "redirect", kernel to kernel; "bridge" under S4N_TCP_PATH=bridge: a test
# whose daemon cannot redirect, such as --netns-type=tapfd, runs it as
# `S4N_TCP_DELIVERY=bridge assert_kernel_tcp ...`), and it has taken at least
# MIN (default 1) connections. A test run with S4N_TCP_PATH=slirp asserts the
# other way: libslirp's TCP carried them all.
assert_kernel_tcp() {
    local delivery
    assert_path_kind "$1" tcp kernel_tcp_total connections || return 0
    delivery=$(stats_field "$1" kernel_tcp_delivery)
    [ "$delivery" = "$(expected_delivery)" ] ||
        fail "the kernel TCP path's delivery is '$delivery', not $(expected_delivery)"
    [ "$TAKEN" -ge "${2:-1}" ] || fail "the kernel TCP path took $TAKEN connections, expected >= ${2:-1}"
}

# assert_path_kind SOCKET PROTO TAKEN_FIELD UNIT: fails unless the daemon
# behind SOCKET runs its own kernel path for PROTO (tcp or udp), or, under
# S4N_TCP_PATH=slirp, libslirp's with nothing taken by the kernel path
# (the get_stats field TAKEN_FIELD, counting UNIT, at 0), and then returns 1:
# there is nothing more to check. Sets TAKEN to that field's value.
assert_path_kind() {
    local path want=kernel proto=${2^^}
    [ "${S4N_TCP_PATH:-}" = slirp ] && want=slirp
    path=$(stats_field "$1" "$2_path") || fail "get_stats failed on $1"
    [ "$path" = "$want" ] || fail "the daemon runs $proto path '$path', not $want"
    TAKEN=$(stats_field "$1" "$3")
    [ "$want" = kernel ] && return 0
    [ "$TAKEN" = 0 ] || fail "--$2-path=slirp, yet the kernel $proto path took $TAKEN $4"
    return 1
}

# expected_delivery: the kernel TCP path's delivery a test run wants
# (assert_kernel_tcp): S4N_TCP_DELIVERY, else bridge under
# S4N_TCP_PATH=bridge, else redirect.
expected_delivery() {
    if [ -n "${S4N_TCP_DELIVERY:-}" ]; then
        echo "$S4N_TCP_DELIVERY"
    elif [ "${S4N_TCP_PATH:-}" = bridge ]; then
        echo bridge
    else
        echo redirect
    fi
}

# kernel_path_only: for a test of the kernel TCP path itself: its daemons get
# --tcp-path=kernel (start_slirp adds it), even in a run over libslirp's TCP;
# a run forced onto one delivery (S4N_TCP_PATH=bridge or redirect) keeps it.
kernel_path_only() {
    case ${S4N_TCP_PATH:-} in
        bridge | redirect) ;;
        *) export S4N_TCP_PATH=kernel ;;
    esac
}

# daemon_frame_bytes SOCKET: the bytes of the frames the daemon itself has
# read from and written to the guest's device (get_stats' bytes_from_guest
# plus bytes_to_guest).
daemon_frame_bytes() {
    api "$1" '{"execute":"get_stats"}' |
        python3 -c "import json, sys; r = json.load(sys.stdin)['return']; print(r['bytes_from_guest'] + r['bytes_to_guest'])"
}

# assert_data_path SOCKET BEFORE BYTES LABEL: after at least BYTES of the
# guest's kernel-path TCP since BEFORE (a daemon_frame_bytes figure), fails
# unless they took the way the expected delivery takes: redirected kernel
# to kernel, the daemon handled less than an eighth of them (SYNs, ARP, the
# odd frame); bridged, it copied every one.
assert_data_path() {
    local sock=$1 before=$2 bytes=$3 label=$4 now grew
    now=$(daemon_frame_bytes "$sock") || fail "$label: get_stats failed on $sock"
    grew=$((now - before))
    log "$label: the daemon handled $grew bytes of frames for $bytes bytes of TCP"
    if [ "$(expected_delivery)" = redirect ]; then
        [ "$grew" -lt $((bytes / 8)) ] ||
            fail "$label: $bytes bytes of TCP, yet the daemon read or wrote $grew bytes of frames: not kernel to kernel"
    else
        [ "$grew" -ge "$bytes" ] ||
            fail "$label: bridged, yet the daemon read or wrote only $grew bytes of frames for $bytes bytes of TCP"
    fi
}

# The state kernel-to-kernel delivery keeps in the guest's namespace while a
# daemon runs (the man page lists it): a veth end redirect_veth TAP (and,
# for the guest's UDP, udp_veth TAP), a clsact qdisc on TAP with filters on
# its egress at REDIRECT_PRIOS (TCP's at TCP_REDIRECT_PRIOS, UDP's at
# UDP_REDIRECT_PRIOS), and the daemon's child process slirp4netns-tcp that
# removes them.
REDIRECT_PRIOS="20001 20122"
TCP_REDIRECT_PRIOS="20001 20114"
UDP_REDIRECT_PRIOS="20121 20122"
redirect_veth() { veth_for_tap s4n- "$1"; }
udp_veth() { veth_for_tap s4u- "$1"; }
# veth_for_tap PREFIX TAP: PREFIX and TAP's name, cut with a hash of it
# where too long for an interface name (tc_redirect.cpp's veth_name).
veth_for_tap() {
    python3 -c '
import sys
tap = sys.argv[2].encode()
name = sys.argv[1].encode() + tap
if len(name) > 15:
    h = 2166136261
    for c in tap:
        h = ((h ^ c) * 16777619) & 0xffffffff
    name = name[:10] + b"-%04x" % (h & 0xffff)
print(name.decode())' "$1" "$2"
}

# redirect_prios TAP [RANGE]: the priorities of TAP's egress filters in
# RANGE (REDIRECT_PRIOS), one a line (nothing when there are none).
redirect_prios() {
    in_guest tc filter show dev "$1" egress 2>/dev/null | awk -v range="${2:-$REDIRECT_PRIOS}" '
        BEGIN { split(range, r, " ") }
        /^filter/ { for (i = 1; i < NF; i++) if ($i == "pref" && $(i + 1) >= r[1] && $(i + 1) <= r[2]) print $(i + 1) }' |
        sort -un
}

# redirected_bytes DEV DIRECTION: the bytes the mirred actions of DEV's
# DIRECTION (egress or ingress) filters have moved, in the guest's namespace
# (on the guest's tap, only TCP's, at TCP_REDIRECT_PRIOS, count).
redirected_bytes() {
    in_guest tc -s filter show dev "$1" "$2" 2>/dev/null | awk -v range="$TCP_REDIRECT_PRIOS" -v dev="$1" '
        BEGIN { split(range, r, " "); total = 0 }
        /^filter/ { for (i = 1; i < NF; i++) if ($i == "pref") pref = $(i + 1) }
        /action order .*mirred/ { mirred = 1 }
        /^[[:space:]]*Sent [0-9]+ bytes/ && mirred {
            if (dev !~ /^s4n-/ ? (pref >= r[1] && pref <= r[2]) : 1) total += $2
            mirred = 0
        }
        END { print total }'
}

# has_clsact TAP: TAP (in the guest) has a clsact qdisc.
has_clsact() { in_guest tc qdisc show dev "$1" | grep -q "^qdisc clsact "; }

# tcp_keeper_pid: the pid of the daemon's (SLIRP_PID's) slirp4netns-tcp
# process, or nothing.
tcp_keeper_pid() {
    local pid
    for pid in $(descendants "$SLIRP_PID"); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = slirp4netns-tcp ] && echo "$pid"
    done
}

# process_gone PID: PID has ended (a zombie has: kill -0 still answers for
# one until its new parent reaps it).
process_gone() {
    local state
    state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 0
    [ -z "$state" ] || [ "$state" = Z ]
}

# assert_redirect_state TAP LABEL: fails unless the guest's namespace holds
# what a redirecting daemon keeps there: TAP's veth end up, NOARP, with the
# gateway's MAC (the default CIDR's), no address of either family and IPv6
# disabled; a clsact qdisc on TAP with filters from the first of
# REDIRECT_PRIOS on; a slirp4netns-tcp process of the daemon's.
assert_redirect_state() {
    local tap=$1 label=$2 veth link prios
    veth=$(redirect_veth "$tap")
    link=$(in_guest ip -o link show dev "$veth" 2>&1) || fail "$label: no $veth in the guest: $link"
    [[ $link == *"<"*NOARP*">"* ]] || fail "$label: $veth answers ARP: $link"
    [[ $link == *"<"*",UP"*">"* ]] || fail "$label: $veth is not up: $link"
    [[ $link == *"link/ether 52:55:0a:00:02:02 "* ]] || fail "$label: $veth lacks the gateway's MAC: $link"
    [ -z "$(in_guest ip -o addr show dev "$veth")" ] ||
        fail "$label: $veth has addresses: $(in_guest ip -o addr show dev "$veth")"
    [ "$(in_guest cat "/proc/sys/net/ipv6/conf/$veth/disable_ipv6")" = 1 ] ||
        fail "$label: IPv6 is not disabled on $veth"
    has_clsact "$tap" || fail "$label: no clsact qdisc on $tap: $(in_guest tc qdisc show dev "$tap")"
    prios=$(redirect_prios "$tap" | paste -sd ' ')
    [ "${prios%% *}" = "${REDIRECT_PRIOS%% *}" ] ||
        fail "$label: $tap's egress filters at our priorities: '$prios'"
    [ -n "$(tcp_keeper_pid)" ] || fail "$label: the daemon has no slirp4netns-tcp process"
    log "$label: $veth $(awk '{ print $2, $3 }' <<<"$link"), $tap egress filters at $prios"
}

# wait_redirect SOCKET TAP LABEL: waits (10 s at most) until the daemon
# behind SOCKET delivers kernel to kernel, which it sets up after ready-fd:
# get_stats says so and TAP's veth end is in the guest. Fails otherwise.
wait_redirect() {
    local sock=$1 tap=$2 label=$3
    redirecting() {
        [ "$(stats_field "$sock" kernel_tcp_delivery)" = redirect ] &&
            in_guest ip link show dev "$(redirect_veth "$tap")" >/dev/null 2>&1 &&
            { [ "$(stats_field "$sock" udp_path)" != kernel ] || [ "${S4N_UDP_DELIVERY:-}" = tap ] ||
                [ "$(stats_field "$sock" kernel_udp_delivery)" = redirect ]; }
    }
    wait_until 10 redirecting ||
        fail "$label: no kernel-to-kernel delivery: get_stats says '$(stats_field "$sock" kernel_tcp_delivery)', $(in_guest ip -o link show dev "$(redirect_veth "$tap")" 2>&1)"
}

# redirect_state_gone TAP: nothing of a redirecting daemon's is left in the
# guest's namespace: no filter at REDIRECT_PRIOS on TAP, no veth end.
redirect_state_gone() {
    [ -z "$(redirect_prios "$1")" ] && ! in_guest ip link show dev "$(redirect_veth "$1")" >/dev/null 2>&1 &&
        ! in_guest ip link show dev "$(udp_veth "$1")" >/dev/null 2>&1
}

# assert_udp_redirect_state TAP LABEL: fails unless the guest's UDP goes by
# tc (tc_redirect.hpp): the veth end udp_veth TAP up, NOARP, with no
# address and IPv6 disabled, and TAP's egress filters at UDP_REDIRECT_PRIOS
# (the second with -6) redirecting to it.
assert_udp_redirect_state() {
    local tap=$1 label=$2 veth link prios
    veth=$(udp_veth "$tap")
    link=$(in_guest ip -o link show dev "$veth" 2>&1) || fail "$label: no $veth in the guest: $link"
    [[ $link == *"<"*NOARP*">"* && $link == *"<"*",UP"*">"* ]] || fail "$label: $veth is not up and NOARP: $link"
    [ -z "$(in_guest ip -o addr show dev "$veth")" ] ||
        fail "$label: $veth has addresses: $(in_guest ip -o addr show dev "$veth")"
    [ "$(in_guest cat "/proc/sys/net/ipv6/conf/$veth/disable_ipv6")" = 1 ] ||
        fail "$label: IPv6 is not disabled on $veth"
    prios=$(redirect_prios "$tap" "$UDP_REDIRECT_PRIOS" | paste -sd ' ')
    [ "${prios%% *}" = "${UDP_REDIRECT_PRIOS%% *}" ] || fail "$label: $tap's UDP filters at '$prios'"
    in_guest tc filter show dev "$tap" egress | grep -q "Redirect to device $veth" ||
        fail "$label: no filter on $tap redirects to $veth: $(in_guest tc filter show dev "$tap" egress)"
    log "$label: $veth $(awk '{ print $2, $3 }' <<<"$link"), UDP filters at $prios"
}

# tcp_peer_server LOG [ADDRESS [PREFIX...]]: tests/integration/tcp-peer.py's
# server on ADDRESS (default 127.0.0.1) port 9000, run through PREFIX (e.g.
# nsenter --target "$PEER_PID" --net), writing its lines to LOG.
tcp_peer_server() {
    local log=$1 address=${2:-127.0.0.1} shown=${2:-127.0.0.1}
    shift $(($# < 2 ? $# : 2))
    [[ $address == *:* ]] && shown="[$address]"
    background "$@" python3 "$TESTS_DIR/integration/tcp-peer.py" server 9000 "$address" >"$log" 2>&1
    wait_until 10 "$@" sh -c "ss -Hltn 'src $shown and sport = :9000' | grep -q ." ||
        fail "tcp-peer.py's server on $address:9000 did not start${*:+ in $*}"
}

# round_trip HOST LOG BYTES LABEL [PREFIX...]: BYTES up, then BYTES down,
# between the guest (or PREFIX, by default in_guest) and a tcp_peer_server
# writing LOG, reached at HOST:9000; each ends with a half-close and a
# SHA-256 compared at the far end. Fails the test unless both arrived intact.
round_trip() {
    local host=$1 log=$2 bytes=$3 label=$4 done up down
    local peer=${STAGE:-$TESTS_DIR/integration}/tcp-peer.py # the test user may run it
    shift 4
    [ $# -gt 0 ] || set -- in_guest
    done=$(grep -c "download ok" "$log")
    up=$("$@" timeout 280 python3 "$peer" client "$host" 9000 upload "$bytes")
    [ "$up" = ok ] || fail "$label: upload of $bytes bytes to $host: '$up'"
    down=$("$@" timeout 280 python3 "$peer" client "$host" 9000 download "$bytes")
    [ "$down" = sent ] || fail "$label: download of $bytes bytes from $host: '$down'"
    wait_until 30 sh -c "[ \$(grep -c 'download ok' '$log') -gt $done ]" ||
        fail "$label: download of $bytes bytes from $host: no matching checksum at the far end ($(tail -n 3 "$log"))"
}

# round_trips_past SOCK BYTES LABEL: a round_trip of BYTES to the gateway
# (its tcp_peer_server writing $WORK/server.log) and one to the outside peer
# 192.0.2.254 ($WORK/peer.log), which the daemon behind SOCK carries as its
# delivery says (assert_data_path).
round_trips_past() {
    local before
    before=$(daemon_frame_bytes "$1")
    round_trip 10.0.2.2 "$WORK/server.log" "$2" "$3"
    round_trip 192.0.2.254 "$WORK/peer.log" "$2" "$3"
    assert_data_path "$1" "$before" $((4 * $2)) "$3"
}

# proc_fds PID [BELOW]: how many descriptors PID holds (only those numbered
# below BELOW, when given). proc_rss_kib PID: its resident set in KiB.
# proc_cpu_ticks PID: the clock ticks it has run, user and system.
proc_fds() { ls "/proc/$1/fd" | awk -v below="${2:-}" 'below == "" || $1 < below + 0' | wc -l; }
proc_rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
proc_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# fd_kinds PID: PID's descriptors counted by kind ("socket 9, pipe 4, tun 2,
# ..."), for the messages of tests that count them.
fd_kinds() {
    find "/proc/$1/fd" -mindepth 1 -printf '%l\n' 2>/dev/null |
        sed 's/:.*//; s|^/dev/net/tun$|tun|; s|^/.*|file|' | sort | uniq -c |
        awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " } END { print "" }'
}
# wait_startup_over: waits until the daemon's start-up has ended, after
# ready-fd: the child making the kernel TCP path's namespace has sent it and
# been reaped, or stays as the keeper of kernel-to-kernel delivery (every
# child left is the forward helper or that keeper), so the daemon holds the
# descriptors it will hold when idle. Tests that count them start here.
startup_over() { ! ps -o comm= --ppid "$SLIRP_PID" | grep -qvxE 'slirp4netns-(fwd|tcp)'; }
wait_startup_over() { wait_until 10 startup_over || fail "start-up still running after 10 s"; }

# peak_while PID [COMMAND...]: until PID exits, samples the daemon's
# (SLIRP_PID's) descriptors and RSS every 0.2 s, running COMMAND each time
# (in this shell: it may keep figures of its own) and failing the test if it
# fails. Sets PEAK_FDS, PEAK_RSS_KIB and SAMPLES.
peak_while() {
    local pid=$1 fds rss
    shift
    PEAK_FDS=0 PEAK_RSS_KIB=0 SAMPLES=0
    while kill -0 "$pid" 2>/dev/null; do
        if [ $# -gt 0 ]; then "$@" || fail "$* failed while process $pid ran"; fi
        kill -0 "$SLIRP_PID" 2>/dev/null || fail "the daemon died while process $pid ran"
        fds=$(proc_fds "$SLIRP_PID") rss=$(proc_rss_kib "$SLIRP_PID")
        [ "$fds" -gt "$PEAK_FDS" ] && PEAK_FDS=$fds
        [ "$rss" -gt "$PEAK_RSS_KIB" ] && PEAK_RSS_KIB=$rss
        SAMPLES=$((SAMPLES + 1))
        sleep 0.2
    done
}

# assert_kernel_peer HOST PORT [COMMAND...]: for a daemon no API socket
# reaches: fails unless a connection from the guest (through COMMAND, by
# default in_guest) to HOST:PORT agreed SACK, timestamps and window scaling,
# which the kernel TCP path's private kernel offers and libslirp's TCP does
# not. Under S4N_TCP_PATH=slirp it wants none of them.
assert_kernel_peer() {
    local host=$1 port=$2 want="sack timestamps wscale" got
    shift 2
    [ $# -gt 0 ] || set -- in_guest
    [ "${S4N_TCP_PATH:-}" = slirp ] && want=none
    got=$("$@" python3 "$TESTS_DIR/integration/tcp-peer.py" options "$host" "$port" 2>&1)
    [ "$got" = "$want" ] || fail "a guest connection to $host:$port agreed '$got', want '$want'"
}

# api_add SOCKET 'MEMBERS': add_hostfwd with the given JSON members; fails the
# test unless the reply is an id. API_CLIENT names another client function
# (api_as_test_user) to send it with.
api_add() {
    local reply
    reply=$("${API_CLIENT:-api}" "$1" "{\"execute\":\"add_hostfwd\",\"arguments\":{$2}}")
    grep -q '^{"return":{"id":[0-9]*}}$' <<<"$reply" || fail "add_hostfwd {$2} answered '$reply'"
}

# api_bad_request DESC: the API's reply to a request it refuses with DESC.
api_bad_request() { echo "{\"error\":{\"desc\":\"bad request: $1\"}}"; }

# assert_daemons_are_ours API_SOCKET: every process serving API_SOCKET (the
# daemon and any helper it forked) is our binary, not some other slirp4netns.
# Sets DAEMON_PIDS to them.
assert_daemons_are_ours() {
    local pid
    DAEMON_PIDS=$(pgrep -f -- "--api-socket $1") || fail "no daemon serves $1"
    for pid in $DAEMON_PIDS; do
        [ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$SLIRP")" ] ||
            fail "process $pid serving $1 is $(readlink "/proc/$pid/exe"), not $SLIRP"
    done
}

# exit_ms PID SECONDS: waits (polling every 10 ms) for PID to exit; prints
# the milliseconds it took, or fails after SECONDS.
exit_ms() {
    local start=$(date +%s%N) deadline=$((SECONDS + $2))
    while kill -0 "$1" 2>/dev/null; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.01
    done
    echo $((($(date +%s%N) - start) / 1000000))
}

# guest_http_server PORT ADDRESS TEXT: an HTTP server in the guest's network
# namespace, on ADDRESS:PORT, answering every GET with TEXT.
guest_http_server() {
    local port=$1 address=$2
    mkdir -p "$WORK/guest-www"
    echo "$3" >"$WORK/guest-www/index.html"
    background nsenter --target "$GUEST_PID" --net python3 -m http.server "$port" --bind "$address" \
        --directory "$WORK/guest-www" >/dev/null 2>&1
    wait_until 10 in_guest sh -c "ss -Hltn 'sport = :$port' | grep -q ." ||
        fail "http server in the guest on $address:$port did not start"
}

# iperf3_server PORT: an iperf3 server on the host side's loopback.
iperf3_server() {
    background iperf3 -s -B 127.0.0.1 -p "$1" >/dev/null 2>&1
    wait_until 10 port_is_listening "$1" || fail "iperf3 server on port $1 did not start"
}

port_is_listening() { ss -Hltn "sport = :$1" | grep -q .; }

# private_dns NAME ADDRESS [NAMESERVER]: a resolver on the host side's
# NAMESERVER (default 127.0.0.1, or ::1 for an IPv6 one), port 53, that knows
# NAME, and a private /etc/resolv.conf pointing at it.
private_dns() {
    local nameserver=${3:-127.0.0.1}
    echo "nameserver $nameserver" >"$WORK/resolv.conf"
    mount --bind "$WORK/resolv.conf" /etc/resolv.conf
    background dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
        --listen-address="$nameserver" --port=53 --user=root --pid-file="$WORK/dnsmasq.pid" \
        --address="/$1/$2" --log-facility=- 2>/dev/null
    wait_until 10 sh -c 'ss -Hlun "sport = :53" | grep -q .' || fail "dnsmasq did not start"
}

# dns_lookup NAME SERVER: asks SERVER from inside the guest for NAME's IPv4
# address; prints it, or nothing when there is no answer within 5 s.
dns_lookup() {
    in_guest timeout 5 busybox nslookup -type=a "$1" "$2" 2>/dev/null |
        sed -n '/^Name:/,$s/^Address: *\([0-9.]*\)$/\1/p' | head -n 1
}

# guest_dhcp: brings the guest's tap0 up and leases its address with busybox
# udhcpc, which configures the address and default route it is given;
# prints "lease ip=... router=... dns=... mask=...", or fails the test.
guest_dhcp() {
    local lease
    in_guest ip link set tap0 up
    cat >"$WORK/lease.sh" <<'SCRIPT'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/$mask" dev "$interface"
ip route add default via "$router"
echo "lease ip=$ip router=$router dns=$dns mask=$mask"
SCRIPT
    chmod +x "$WORK/lease.sh"
    lease=$(in_guest timeout 20 busybox udhcpc -f -q -n -i tap0 -t 5 -T 1 -s "$WORK/lease.sh" 2>&1)
    grep "^lease " <<<"$lease" || fail "no DHCP lease: $lease"
}

# udp_echo ADDRESS PORT [PREFIX...]: a UDP server on ADDRESS:PORT, run
# through PREFIX (e.g. nsenter --target "$GUEST_PID" --net), that answers
# each datagram with "echo:" (or "echo6:" on an IPv6 address, IPv6 only) and
# the datagram. udp_ask ADDRESS PORT [PREFIX...]: sends "ping" there from
# PREFIX (e.g. in_guest; five tries, 1 s apart, as a first datagram may be
# lost) and prints the answer.
udp_echo() {
    local address=$1 port=$2 shown=$1
    shift 2
    [[ $address == *:* ]] && shown="[$address]"
    background "$@" python3 -c '
import socket, sys
v6 = ":" in sys.argv[1]
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
if v6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto((b"echo6:" if v6 else b"echo:") + data, peer)' "$address" "$port"
    wait_until 10 "$@" sh -c "ss -Hlun 'sport = :$port' | grep -qF '$shown:$port'" ||
        fail "UDP echo on $shown:$port did not start"
}
udp_ask() {
    "${@:3}" python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for _ in range(5):
    s.sendto(b"ping", (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recv(2048).decode())
        break
    except socket.timeout:
        pass
PY
}

# dns_server MODE ADDRESS IP [PREFIX...]: a nameserver of
# tests/integration/dns-peer.py (MODE as there: answer, silent, refuse,
# servfail, truncate) on ADDRESS:53, UDP and TCP, answering A queries with
# IP, run through PREFIX (e.g. nsenter --target "$PEER_PID" --net); each
# query it gets is a line in $WORK/dns-ADDRESS.log (dns_queries ADDRESS
# counts them). dns_ask SERVER NAME [udp|tcp]: one A query from the guest;
# prints the address, "rcode N" (" tc" when truncated) or "timeout".
dns_server() {
    local mode=$1 address=$2 ip=$3 log="$WORK/dns-$2.log"
    shift 3
    rm -f "$log"
    background "$@" python3 "$TESTS_DIR/integration/dns-peer.py" serve "$mode" "$address" "$ip" "$log"
    wait_until 10 test -e "$log" || fail "nameserver $mode on $address did not start"
}
dns_queries() { wc -l <"$WORK/dns-$1.log"; }
dns_ask() { in_guest timeout 20 python3 "$TESTS_DIR/integration/dns-peer.py" ask "$1" "$2" "${3:-udp}" 10; }

# peer_network: a second namespace of the test ("the outside"), reached from
# the host side over a veth: host s4n-h has 192.0.2.1/24 and 192.0.2.2/24
# (and 2001:db8::1, 2001:db8::2), the peer has 192.0.2.254/24 and
# 2001:db8::fe/64; the interface s4n-d holds 192.0.2.3 and 2001:db8::3.
# All TEST-NET/documentation addresses, private to this test. Sets PEER_PID.
peer_network() {
    unshare --net sh -c 'ip link set lo up; exec sleep 1000' &
    PEER_PID=$!
    BACKGROUND_PIDS+=($PEER_PID)
    wait_until 5 sh -c "[ \"\$(readlink /proc/$PEER_PID/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ]" ||
        fail "peer namespace did not appear"
    ip link add s4n-h type veth peer name s4n-p
    ip link set s4n-p netns "$PEER_PID"
    ip addr add 192.0.2.1/24 dev s4n-h
    ip addr add 192.0.2.2/24 dev s4n-h
    ip -6 addr add 2001:db8::1/64 dev s4n-h nodad
    ip -6 addr add 2001:db8::2/64 dev s4n-h nodad
    ip link set s4n-h up
    # No dummy driver on this kernel: a veth pair kept on the host side.
    ip link add s4n-d type veth peer name s4n-e
    ip addr add 192.0.2.3/32 dev s4n-d
    ip -6 addr add 2001:db8::3/128 dev s4n-d nodad
    ip link set s4n-e up
    ip link set s4n-d up
    in_peer ip addr add 192.0.2.254/24 dev s4n-p
    in_peer ip -6 addr add 2001:db8::fe/64 dev s4n-p nodad
    in_peer ip link set s4n-p up
    # Via the host's veth address: IPv6 neighbour discovery only answers for
    # addresses on the asked interface, and s4n-d is not on the link.
    in_peer ip route add 192.0.2.3/32 via 192.0.2.1
    in_peer ip -6 route add 2001:db8::3/128 via 2001:db8::1
}

in_peer() { nsenter --target "$PEER_PID" --net -- "$@"; }

# peer_http_server TEXT: an HTTP server in the peer (peer_network first) on
# 192.0.2.254:8080, answering every GET with TEXT.
peer_http_server() {
    mkdir -p "$WORK/peer-www"
    echo "$1" >"$WORK/peer-www/index.html"
    background nsenter --target "$PEER_PID" --net busybox httpd -f -p 192.0.2.254:8080 -h "$WORK/peer-www"
    wait_until 10 sh -c "nsenter --target $PEER_PID --net ss -Hltn 'sport = :8080' | grep -q ." ||
        fail "http server in the peer did not start"
}

# whoami_server PORT [PREFIX...]: a TCP server on the host side (or run
# through PREFIX, e.g. nsenter into another namespace) that answers every
# connection with the address it came from, then closes (IPv4 and IPv6).
# peer_whoami_server PORT: the same in the peer.
whoami_server() {
    local port=$1
    shift
    background "$@" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(8)
while True:
    c, addr = s.accept()
    host = addr[0][7:] if addr[0].startswith("::ffff:") else addr[0]
    c.sendall((host + "\n").encode())
    c.close()
' "$port"
    wait_until 10 sh -c "$* ss -Hltn 'sport = :$port' | grep -q ." ||
        fail "whoami server did not start${*:+ in $*}"
}
peer_whoami_server() { whoami_server "$1" nsenter --target "$PEER_PID" --net --; }

# assert_confined PID CAPS: fails unless PID runs as --enable-sandbox and
# --enable-seccomp leave it: seccomp filter mode, no-new-privs, CapEff, CapPrm
# and CapBnd all equal to CAPS (hex, as in /proc/PID/status), a read-only
# tmpfs root holding only etc and run, no mount left outside them (the old
# root is gone), and no descriptor of a directory from which ".." climbs (the
# socket file's directory is a copy rooted there).
assert_confined() {
    local pid=$1 caps=$2 status field entries stray fd
    status=$(cat "/proc/$pid/status") || fail "no process $pid to inspect"
    grep -q "^Seccomp:[[:space:]]*2$" <<<"$status" || fail "pid $pid has no seccomp filter"
    grep -q "^NoNewPrivs:[[:space:]]*1$" <<<"$status" || fail "pid $pid lacks no-new-privs"
    for field in CapEff CapPrm CapBnd; do
        grep -q "^$field:[[:space:]]*$caps$" <<<"$status" ||
            fail "pid $pid: $(grep "^$field:" <<<"$status"), expected $caps"
    done
    entries=$(ls -A "/proc/$pid/root/" | tr '\n' ' ')
    [ "$entries" = "etc run " ] || fail "pid $pid's root holds '$entries', not only etc and run"
    awk '$5 == "/" && $6 ~ /^ro,/ && / - tmpfs / { found = 1 } END { exit !found }' \
        "/proc/$pid/mountinfo" || fail "pid $pid's root is not a read-only tmpfs"
    stray=$(awk '$5 != "/" && $5 !~ /^\/(etc|run)(\/|$)/ { print $5 }' "/proc/$pid/mountinfo")
    [ -z "$stray" ] || fail "pid $pid still sees mounts outside its root: $stray"
    for fd in "/proc/$pid/fd"/*; do
        [ -d "$fd" ] || continue
        [ "$(stat -L -c %d:%i "$fd/..")" = "$(stat -L -c %d:%i "$fd")" ] ||
            fail "pid $pid's descriptor ${fd##*/} leads up out of $(readlink "$fd")"
    done
}

# The helpers for running clients (rootless users, podman, rootlesskit-style
# launchers, User Mode Linux) live in their own file.
. "$TESTS_DIR/lib-clients.sh"

# udp_peer_server ADDRESS PORT [PREFIX...]: tests/integration/udp-peer.py's
# server on ADDRESS:PORT, run through PREFIX (e.g. nsenter --target
# "$PEER_PID" --net). udp_peer ARGS...: its client, in the guest.
udp_peer_server() {
    local address=$1 port=$2 shown=$1
    shift 2
    [[ $address == *:* ]] && shown="[$address]"
    background "$@" python3 "$TESTS_DIR/integration/udp-peer.py" serve "$address" "$port"
    wait_until 10 "$@" sh -c "ss -Hlun 'sport = :$port' | grep -qF '$shown:$port'" ||
        fail "udp-peer server on $shown:$port did not start"
}
udp_peer() { in_guest timeout 120 python3 "${STAGE:-$TESTS_DIR/integration}/udp-peer.py" "$@"; }

# udp_round_trip HOST PORT N LABEL: N datagrams of 1200 bytes from the
# guest to a udp_peer_server at HOST:PORT and N back, each way checked end
# to end (a SHA-256 over them); the lost ones are sent again.
udp_round_trip() {
    local got
    got=$(udp_peer upload "$1" "$2" "$3")
    [ "$got" = ok ] || fail "$4: upload of $3 datagrams to $1 port $2: '$got'"
    got=$(udp_peer download "$1" "$2" "$3")
    [ "$got" = ok ] || fail "$4: download of $3 datagrams from $1 port $2: '$got'"
}

# assert_kernel_udp SOCKET [MIN [MIN_REDIRECTED]]: fails unless the daemon
# behind SOCKET sends the guest's UDP through its own host sockets and has
# taken at least MIN (default 1) datagrams from the guest; where TCP goes
# kernel to kernel it wants delivery by tc in place (S4N_UDP_DELIVERY=tap:
# the tap) and at least MIN_REDIRECTED (default 0: tc takes over only once
# 256 have come, frame_ring.hpp) of their frames to have come that way
# (with the tap, none); under S4N_TCP_PATH=slirp (which means
# --udp-path=slirp too) it wants libslirp's UDP and none taken.
assert_kernel_udp() {
    local delivery want_delivery=tap redirected
    assert_path_kind "$1" udp kernel_udp_datagrams_from_guest datagrams || return 0
    [ "$TAKEN" -ge "${2:-1}" ] || fail "the kernel UDP path took $TAKEN datagrams, expected >= ${2:-1}"
    # Where TCP goes kernel to kernel, the guest's UDP comes by tc too,
    # unless the test asked for the tap (S4N_UDP_DELIVERY=tap).
    [ "$(stats_field "$1" kernel_tcp_delivery)" = redirect ] &&
        [ "${S4N_UDP_DELIVERY:-}" != tap ] && want_delivery=redirect
    delivery=$(stats_field "$1" kernel_udp_delivery)
    redirected=$(stats_field "$1" kernel_udp_frames_redirected)
    log "UDP delivery $delivery: $redirected frames redirected, $(stats_field "$1" kernel_udp_redirect_drops) lost"
    [ "$delivery" = "$want_delivery" ] || fail "the guest's UDP comes by '$delivery', not $want_delivery"
    if [ "$want_delivery" = redirect ]; then
        [ "$redirected" -ge "${3:-0}" ] || fail "$redirected UDP frames came by tc, expected >= ${3:-0}"
    else
        [ "$redirected" = 0 ] || fail "UDP delivery $delivery, yet $redirected frames came by tc"
    fi
}
