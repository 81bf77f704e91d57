#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every API command and every error desc, byte for byte as slirp4netns sends
# them: ids from 1, defaults for host_addr (0.0.0.0) and guest_addr (the -c
# address, here from --cidr), duplicates and bad arguments refused, requests
# served on half-close and on a complete JSON value alone, get_stats counting.
# One addition: a forward in splice mode (the default) is listed with
# "mode":"splice"; a slirp-mode one is listed exactly as slirp4netns does.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
# reply_is WHAT REQUEST EXPECTED [client mode]
reply_is() {
    local what=$1 request=$2 expected=$3 mode=${4:-}
    local got
    got=$(api $mode "$SOCK" "$request")
    [ "$got" = "$expected" ] || fail "$what: sent $request, expected $expected, got '$got'"
}
add() { echo "{\"execute\":\"add_hostfwd\",\"arguments\":{$1}}"; }

start_guest
start_slirp -c --cidr=10.9.0.0/24 -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"

reply_is "empty list" '{"execute":"list_hostfwd"}' '{"return":{"entries":[]}}'
reply_is "first id" "$(add '"proto":"tcp","host_addr":"0.0.0.0","host_port":8080,"guest_addr":"10.9.0.100","guest_port":80,"mode":"slirp"')" '{"return":{"id":1}}'
reply_is "defaults" "$(add '"proto":"udp","host_port":8080,"guest_port":53')" '{"return":{"id":2}}'
reply_is "no half-close" "$(add '"proto":"tcp","host_addr":"127.0.0.1","host_port":8081,"guest_port":81')" \
    '{"return":{"id":3}}' --no-shutdown
reply_is "integral float port" "$(add '"proto":"tcp","host_port":8.082e3,"guest_port":82.0')" '{"return":{"id":4}}'
reply_is "list" '{"execute":"list_hostfwd"}' \
    '{"return":{"entries":[{"id":1,"proto":"tcp","host_addr":"0.0.0.0","host_port":8080,"guest_addr":"10.9.0.100","guest_port":80},{"id":2,"proto":"udp","host_addr":"0.0.0.0","host_port":8080,"guest_addr":"10.9.0.100","guest_port":53,"mode":"splice"},{"id":3,"proto":"tcp","host_addr":"127.0.0.1","host_port":8081,"guest_addr":"10.9.0.100","guest_port":81,"mode":"splice"},{"id":4,"proto":"tcp","host_addr":"0.0.0.0","host_port":8082,"guest_addr":"10.9.0.100","guest_port":82,"mode":"splice"}]}}'
expect "forward 1 listens" port_is_listening 8080

reply_is "remove" '{"execute":"remove_hostfwd","arguments":{"id":1}}' '{"return":{}}'
expect_not "removed forward stops listening" port_is_listening 8080
reply_is "remove again" '{"execute":"remove_hostfwd","arguments":{"id":1}}' "$(api_bad_request 'remove_hostfwd: slirp_remove_hostfwd failed')"
reply_is "remove unknown id" '{"execute":"remove_hostfwd","arguments":{"id":99}}' "$(api_bad_request 'remove_hostfwd: slirp_remove_hostfwd failed')"
reply_is "ids keep increasing" "$(add '"proto":"tcp","host_port":8080,"guest_port":80')" '{"return":{"id":5}}'

# Duplicates: the same proto/addr/port, and a wildcard overlapping an address.
dup=$(api "$SOCK" "$(add '"proto":"tcp","host_port":8080,"guest_port":90')")
expect "duplicate refused naming id 5" grep -qF '{"error":{"desc":"bad request: add_hostfwd: duplicate of forward id 5' <<<"$dup"
dup=$(api "$SOCK" "$(add '"proto":"udp","host_addr":"127.0.0.1","host_port":8080,"guest_port":90')")
expect "UDP overlap with 0.0.0.0 refused" grep -qF 'duplicate of forward id 2' <<<"$dup"
reply_is "same port, other proto is fine" "$(add '"proto":"udp","host_port":8081,"guest_port":81')" '{"return":{"id":6}}'

# The host port is taken by someone else: libslirp cannot bind it.
background python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",8090)); s.listen(); time.sleep(60)'
wait_until 5 port_is_listening 8090 || fail "blocker did not listen"
reply_is "bind failure" "$(add '"proto":"tcp","host_addr":"127.0.0.1","host_port":8090,"guest_port":80')" "$(api_bad_request 'add_hostfwd: slirp_add_hostfwd failed')"
# That forward was a splice one (loopback, auto): its cause is logged.
expect "the bind's cause is logged" grep -qF 'add_hostfwd 127.0.0.1:8090: cannot bind the host port: Address already in use' "$WORK/slirp.log"
reply_is "address not on this host" "$(add '"proto":"tcp","host_addr":"192.0.2.1","host_port":8091,"guest_port":80')" "$(api_bad_request 'add_hostfwd: slirp_add_hostfwd failed')"
# We are root here: privileged ports are bindable.
reply_is "privileged port" "$(add '"proto":"tcp","host_addr":"127.0.0.1","host_port":80,"guest_port":80')" '{"return":{"id":7}}'

# Protocol-level errors.
reply_is "not JSON" 'hello' "$(api_bad_request 'cannot parse JSON')"
reply_is "no execute" '{"arguments":{}}' "$(api_bad_request 'no execute found')"
reply_is "execute not a string" '{"execute":1}' "$(api_bad_request 'no execute found')"
reply_is "not an object" '[1,2]' "$(api_bad_request 'no execute found')"
reply_is "unknown execute" '{"execute":"frobnicate"}' "$(api_bad_request 'unknown execute')"

# add_hostfwd arguments, one bad field at a time.
good_rest='"host_port":9000,"guest_port":80'
for bad in '' '"proto":"sctp",' '"proto":"TCP",' '"proto":6,' '"proto":["tcp"],'; do
    reply_is "proto [$bad]" "$(add "$bad$good_rest")" "$(api_bad_request 'add_hostfwd: bad arguments.proto')"
done
reply_is "no arguments" '{"execute":"add_hostfwd"}' "$(api_bad_request 'add_hostfwd: bad arguments.proto')"
for bad in '"nonsense"' '"10.0.2"' '"::1"' '1234' 'true' '"1.2.3.4 "'; do
    reply_is "host_addr $bad" "$(add "\"proto\":\"tcp\",\"host_addr\":$bad,$good_rest")" "$(api_bad_request 'add_hostfwd: bad arguments.host_addr')"
done
for bad in '' '"host_port":0,' '"host_port":65536,' '"host_port":-1,' '"host_port":"8080",' '"host_port":80.5,' '"host_port":true,' '"host_port":1e100,'; do
    reply_is "host_port [$bad]" "$(add "\"proto\":\"tcp\",$bad\"guest_port\":80")" "$(api_bad_request 'add_hostfwd: bad arguments.host_port')"
done
for bad in '"x"' '"fd00::100"' '10' '{}'; do
    reply_is "guest_addr $bad" "$(add "\"proto\":\"tcp\",\"host_port\":9000,\"guest_addr\":$bad,\"guest_port\":80")" "$(api_bad_request 'add_hostfwd: bad arguments.guest_addr')"
done
for bad in '' '"guest_port":0,' '"guest_port":70000,' '"guest_port":"80",' '"guest_port":1.25,' '"guest_port":null,'; do
    reply_is "guest_port [$bad]" "$(add "\"proto\":\"tcp\",$bad\"host_port\":9000")" "$(api_bad_request 'add_hostfwd: bad arguments.guest_port')"
done
for bad in '{}' '{"id":"1"}' '{"id":0}' '{"id":-3}' '{"id":1.5}' '{"id":false}'; do
    reply_is "remove id $bad" "{\"execute\":\"remove_hostfwd\",\"arguments\":$bad}" "$(api_bad_request 'remove_hostfwd: bad arguments.id')"
done
expect_not "nothing listens on 9000 after all the refusals" port_is_listening 9000

# A request split over writes, without half-close, is answered once whole.
got=$(api --chunks "$SOCK" '{"execute":' '"list_h' 'ostfwd"}')
expect "chunked request answered" grep -q '^{"return":{"entries":\[{"id":2,' <<<"$got"

stats=$(api "$SOCK" '{"execute":"get_stats"}')
python3 - "$stats" <<'EOF' || fail "get_stats reply wrong: $stats"
import json, sys
r = json.loads(sys.argv[1])["return"]
keys = ["frames_from_guest", "bytes_from_guest", "frames_to_guest", "bytes_to_guest",
        "frames_dropped", "api_requests", "api_failures", "api_clients_dropped",
        "active_forwards", "uptime_ms"]
kernel = ["kernel_tcp_listeners", "kernel_tcp_active", "kernel_tcp_total", "kernel_tcp_refused", "kernel_tcp_failed",
          "kernel_tcp_bytes_from_guest", "kernel_tcp_bytes_to_guest"]
dns = ["dns_queries", "dns_answers", "dns_failovers", "dns_servfails", "dns_dropped"]
udp = ["kernel_udp_flows", "kernel_udp_datagrams_from_guest", "kernel_udp_datagrams_to_guest",
       "kernel_udp_bytes_from_guest", "kernel_udp_bytes_to_guest", "kernel_udp_dropped",
       "kernel_udp_gso_frames_to_guest", "kernel_udp_runs_from_guest", "kernel_udp_frames_redirected",
       "kernel_udp_redirect_drops", "kernel_udp_ring_lingers"]
assert list(r) == keys + ["tcp_path", "sandbox", "kernel_tcp_delivery"] + kernel + ["dns_forwarder"] + dns + ["udp_path", "kernel_udp_delivery"] + udp, list(r)
assert all(isinstance(r[k], int) and r[k] >= 0 for k in keys + kernel + dns + udp), r
assert r["udp_path"] in ("slirp", "kernel"), r
assert r["kernel_udp_delivery"] in (("redirect", "tap") if r["udp_path"] == "kernel" else ("none",)), r
assert isinstance(r["dns_forwarder"], bool), r
assert r["tcp_path"] in ("slirp", "kernel"), r
assert r["kernel_tcp_delivery"] in (("redirect", "bridge") if r["tcp_path"] == "kernel" else ("none",)), r
assert r["sandbox"] == "none", r  # no --enable-sandbox
assert r["active_forwards"] == 6, r  # ids 2,3,4,5,6,7
assert r["api_failures"] >= 40 and r["api_requests"] > r["api_failures"], r
assert r["frames_from_guest"] > 0 and r["bytes_from_guest"] >= 42 * r["frames_from_guest"], r
assert 0 < r["uptime_ms"] < 600000, r
EOF
stats2=$(api "$SOCK" '{"execute":"get_stats"}')
requests() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["return"]["api_requests"])' "$1"; }
[ $(($(requests "$stats2") - $(requests "$stats"))) = 1 ] || fail "api_requests did not count one request: $stats / $stats2"

stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "SIGTERM exit status $SLIRP_STATUS"
pass "all commands and error descs"
