#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/soak.sh (make soak; not part of make check): SOAK_SECONDS (default
# 600) of mixed traffic through one daemon with --tcp-path=kernel: iperf3 in
# both directions, 100 short TCP connections per second, DNS queries every
# 100 ms, and an API add_hostfwd/remove_hostfwd every 100 ms. During the
# load, the daemon's RSS plus the kernel's TCP memory (sockstat) stays at
# most SOAK_MAX_MIB (64). Then, with the traffic stopped: the daemon's open
# descriptors are back to their count after start-up and kernel_tcp_active
# to 0, its RSS grew less than 10 % over the warmed-up value, it logged no
# error line, and no forward is left. Hermetic like every test: see
# tests/lib.sh.
#
# sockstat's "mem" is the machine's (the kernel keeps one TCP memory count,
# not one per network namespace; the kernel path's private namespace could
# not be entered by path anyway): the figure judged is its growth over the
# reading before the load, so what the machine held already does not count,
# though other work running meanwhile does. The kernel memory of the
# daemon's own sockets (SO_MEMINFO) is logged beside it.
. "$(dirname "$0")/lib.sh"

DURATION=${SOAK_SECONDS:-600}
MAX_KIB=$((${SOAK_MAX_MIB:-64} * 1024))
SOCK=$WORK/api.sock
# Descriptors other than pipes, and pipes: the splice relay keeps up to 8
# spare pipes (kSparePipes in splice_forward.cpp) once concurrent transfers
# have needed them, a bounded cache that is not counted as growth.
fd_count() { find "/proc/$SLIRP_PID/fd" -mindepth 1 ! -lname 'pipe:*' | wc -l; }
pipe_fds() { find "/proc/$SLIRP_PID/fd" -mindepth 1 -lname 'pipe:*' | wc -l; }
# fd_list FILE: what each descriptor is (sockets with their state), to show
# what is left when the count grew.
fd_list() {
    local fd target
    for fd in /proc/$SLIRP_PID/fd/*; do
        target=$(readlink "$fd") || continue
        case $target in
            socket:*) echo "${fd##*/} $target $(ss -Htuaxe 2>/dev/null | grep -F "ino:${target//[!0-9]/} " | head -n 1)" ;;
            *) echo "${fd##*/} $target" ;;
        esac
    done >"$1"
}
SPARE_PIPE_FDS=16
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SLIRP_PID/status"; }
# The machine's TCP memory in KiB (sockstat counts pages).
tcp_mem_kb() {
    awk -v page="$(getconf PAGESIZE)" '/^TCP:/ { for (i = 2; i < NF; i++) if ($i == "mem") print $(i + 1) * page / 1024 }' \
        /proc/net/sockstat
}
own_sockets_kb() { python3 "$REPO/bench/helper.py" socket-mem-kb "$SLIRP_PID"; }

private_dns soak.test 192.0.2.7
http_server 8000
iperf3_server 5201
iperf3_server 5202
start_guest
start_slirp -c --tcp-path=kernel -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"

cat >"$WORK/short.py" <<'PY'
# 100 short TCP connections per second (an HTTP GET each) until killed;
# prints successes and failures at the end.
import signal, socket, sys, time
ok = bad = 0
def done(*_):
    print(ok, bad)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
next_at = time.monotonic()
while True:
    try:
        with socket.create_connection(("10.0.2.2", 8000), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            while s.recv(4096):
                pass
        ok += 1
    except OSError:
        bad += 1
    next_at += 0.01
    time.sleep(max(0, next_at - time.monotonic()))
PY
cat >"$WORK/dns.py" <<'PY'
# A DNS query for soak.test every 100 ms to the daemon's resolver 10.0.2.3.
import random, signal, socket, struct, sys, time
ok = bad = 0
def done(*_):
    print(ok, bad)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
while True:
    qid = random.randrange(65536)
    s.sendto(struct.pack("!HHHHHH", qid, 0x100, 1, 0, 0, 0) + b"\x04soak\x04test\x00\x00\x01\x00\x01",
             ("10.0.2.3", 53))
    try:
        reply = s.recv(512)
        ok += reply[:2] == struct.pack("!H", qid)
    except OSError:
        bad += 1
    time.sleep(0.1)
PY
cat >"$WORK/api.py" <<'PY'
# add_hostfwd then remove_hostfwd, one request every 100 ms, until killed.
import json, signal, socket, sys, time
path = sys.argv[1]
ok = bad = 0
def done(*_):
    print(ok, bad)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
def call(req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    s.sendall(json.dumps(req).encode())
    s.shutdown(socket.SHUT_WR)
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    s.close()
    return json.loads(data)
while True:
    try:
        r = call({"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "127.0.0.1",
                                                           "host_port": 9000, "guest_port": 80}})
        time.sleep(0.1)
        r2 = call({"execute": "remove_hostfwd", "arguments": {"id": r["return"]["id"]}})
        ok += "return" in r2
    except (OSError, KeyError, ValueError):
        bad += 1
    time.sleep(0.1)
PY

# Warm up so that libslirp's and the allocator's steady state is the baseline.
in_guest timeout 5 iperf3 -c 10.0.2.2 -p 5201 -t 2 >/dev/null 2>&1
api "$SOCK" '{"execute":"list_hostfwd"}' >/dev/null
sleep 1
[ "$(stats_field "$SOCK" tcp_path)" = kernel ] || fail "the kernel TCP path is not on: $(head -n 3 "$WORK/slirp.log")"
fds_start=$(fd_count)
pipes_start=$(pipe_fds)
fd_list "$WORK/fds.start"
rss_start=$(rss_kb)
tcp_start=$(tcp_mem_kb)
log "baseline: $fds_start fds and $pipes_start pipe ends, RSS $rss_start kB, machine's TCP memory $tcp_start kB; soaking for $DURATION s"

nsenter --target "$GUEST_PID" --net -- timeout $((DURATION + 30)) iperf3 -c 10.0.2.2 -p 5201 \
    -t "$DURATION" -b 200M >"$WORK/up.out" 2>&1 &
up=$!
nsenter --target "$GUEST_PID" --net -- timeout $((DURATION + 30)) iperf3 -c 10.0.2.2 -p 5202 -R \
    -t "$DURATION" -b 200M >"$WORK/down.out" 2>&1 &
down=$!
nsenter --target "$GUEST_PID" --net -- python3 "$WORK/short.py" >"$WORK/short.out" 2>&1 &
short=$!
nsenter --target "$GUEST_PID" --net -- python3 "$WORK/dns.py" >"$WORK/dns.out" 2>&1 &
dns=$!
python3 "$WORK/api.py" "$SOCK" >"$WORK/api.out" 2>&1 &
apiloop=$!
BACKGROUND_PIDS+=($up $down $short $dns $apiloop)

# Under full load the daemon's RSS rises to a working set (socket buffers of
# hundreds of connections in TIME_WAIT; the allocator keeps freed pages).
# Growth is judged against that: RSS a quarter into the soak is the baseline.
# The memory judged under load: RSS plus the growth of the machine's TCP
# memory, sampled together; its maximum is MEM_PEAK.
peak=$rss_start
mem_peak=0 mem_peak_rss=0 mem_peak_tcp=0 own_peak=0
end=$((SECONDS + DURATION))
baseline_at=$((SECONDS + DURATION / 4))
rss_idle=$rss_start
rss_start=
while [ $SECONDS -lt $end ]; do
    sleep 2
    kill -0 "$SLIRP_PID" 2>/dev/null || fail "daemon died during the soak"
    r=$(rss_kb) t=$(($(tcp_mem_kb) - tcp_start)) o=$(own_sockets_kb)
    [ "$r" -gt "$peak" ] && peak=$r
    [ $((r + t)) -gt "$mem_peak" ] && mem_peak=$((r + t)) mem_peak_rss=$r mem_peak_tcp=$t
    [ "${o:-0}" -gt "$own_peak" ] && own_peak=$o
    [ -z "$rss_start" ] && [ $SECONDS -ge $baseline_at ] && rss_start=$r
done
kernel_total=$(stats_field "$SOCK" kernel_tcp_total)
kill -TERM "$short" "$dns" "$apiloop"
wait "$up" "$down" "$short" "$dns" "$apiloop"
# Closed connections may keep their descriptors a while (TCP's TIME_WAIT on
# libslirp's host sockets, the kernel path's linger for the last ACKs); give
# them SETTLE_SECONDS to leave before counting.
settle_end=$((SECONDS + ${SETTLE_SECONDS:-150}))
settled() { [ "$(fd_count)" -le "$fds_start" ] && [ "$(stats_field "$SOCK" kernel_tcp_active)" = 0 ]; }
while ! settled && [ $SECONDS -lt $settle_end ]; do sleep 1; done
log "settled after $((SECONDS - end)) s"

fds_end=$(fd_count)
pipes_end=$(pipe_fds)
fd_list "$WORK/fds.end"
rss_end=$(rss_kb)
active_end=$(stats_field "$SOCK" kernel_tcp_active)
summary() { echo "$1: $(cat "$WORK/$1.out" | tail -n 1)"; }
log "short connections ok/failed: $(cat "$WORK/short.out")"
log "DNS answers ok/failed: $(cat "$WORK/dns.out")"
log "API add+remove ok/failed: $(cat "$WORK/api.out")"
log "iperf3 up: $(grep -E 'receiver' "$WORK/up.out" | tail -n 1)"
log "iperf3 down: $(grep -E 'receiver' "$WORK/down.out" | tail -n 1)"
log "fds $fds_start -> $fds_end, pipe ends $pipes_start -> $pipes_end; RSS idle $rss_idle kB, under load $rss_start kB, end $rss_end kB (peak $peak kB)"
log "kernel TCP path: $kernel_total connections, $active_end active at the end"
log "under load, RSS + TCP memory growth at most $mem_peak kB (RSS $mem_peak_rss kB + sockstat $mem_peak_tcp kB;" \
    "the machine's TCP memory was $tcp_start kB before the load); the daemon's own sockets at most $own_peak kB"

read -r short_ok short_bad <"$WORK/short.out"
read -r dns_ok dns_bad <"$WORK/dns.out"
read -r api_ok api_bad <"$WORK/api.out"
[ "${short_ok:-0}" -gt $((DURATION * 50)) ] || fail "only ${short_ok:-0} short connections in $DURATION s"
[ "${dns_ok:-0}" -gt $((DURATION * 5)) ] || fail "only ${dns_ok:-0} DNS answers in $DURATION s"
[ "${api_ok:-0}" -gt $((DURATION * 2)) ] || fail "only ${api_ok:-0} API add/remove pairs in $DURATION s"
[ "${api_bad:-1}" = 0 ] || fail "$api_bad API add/remove pairs failed"
[ "$fds_end" -le "$fds_start" ] || fail "open descriptors (other than pipes) grew from $fds_start to $fds_end;" \
    "new: $(diff "$WORK/fds.start" "$WORK/fds.end" | grep '^>')"
[ "$pipes_end" -le $((pipes_start + SPARE_PIPE_FDS)) ] ||
    fail "pipe ends grew from $pipes_start to $pipes_end, past the relay's $SPARE_PIPE_FDS spare ones"
[ "$kernel_total" -gt $((DURATION * 50)) ] ||
    fail "the kernel TCP path took only $kernel_total connections in $DURATION s"
[ "$active_end" = 0 ] || fail "kernel_tcp_active is $active_end after the traffic stopped"
[ "$mem_peak" -le "$MAX_KIB" ] ||
    fail "RSS + TCP memory under load reached $mem_peak kB (RSS $mem_peak_rss + sockstat growth $mem_peak_tcp), over $MAX_KIB kB"
# With the kernel path the RSS under load is ~3 MiB, where 10 % is a few
# pages of allocator slack: growth counts from 1 MiB up.
[ $((rss_end * 10)) -lt $((rss_start * 11)) ] || [ $((rss_end - rss_start)) -lt 1024 ] ||
    fail "RSS grew from $rss_start kB to $rss_end kB (>= 10 % and >= 1 MiB)"
errors=$(grep -v '^\*\|^Starting' "$WORK/slirp.log" | head -n 5)
[ -z "$errors" ] || fail "the daemon logged: $errors"
left=$(api "$SOCK" '{"execute":"list_hostfwd"}')
[ "$left" = '{"return":{"entries":[]}}' ] || fail "forwards left: $left"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS at the end"
pass "$DURATION s with --tcp-path=kernel: $short_ok short connections, $dns_ok DNS answers, $api_ok API add/remove pairs; fds $fds_start -> $fds_end, RSS $rss_start -> $rss_end kB, RSS + TCP memory under load at most $mem_peak kB"
