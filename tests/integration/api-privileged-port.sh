#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Privileged host ports: bindable with CAP_NET_BIND_SERVICE; without it (here:
# dropped from the bounding set) add_hostfwd answers the failure desc, and
# unprivileged ports still work.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
add() { api "$SOCK" "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"$1\",\"host_addr\":\"127.0.0.1\",\"host_port\":$2,\"guest_port\":80}}"; }
[ "$(sysctl -n net.ipv4.ip_unprivileged_port_start)" = 1024 ] || skip "ip_unprivileged_port_start is not 1024"

start_guest
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
[ "$(add tcp 80)" = '{"return":{"id":1}}' ] || fail "port 80 with CAP_NET_BIND_SERVICE refused"
[ "$(add udp 53)" = '{"return":{"id":2}}' ] || fail "UDP port 53 with CAP_NET_BIND_SERVICE refused"
expect "port 80 listens" port_is_listening 80
stop_slirp

REAL_SLIRP=$SLIRP
cat >"$WORK/no-bind-cap" <<WRAP
#!/bin/sh
exec setpriv --bounding-set=-net_bind_service --inh-caps=-net_bind_service "$REAL_SLIRP" "\$@"
WRAP
chmod +x "$WORK/no-bind-cap"
SLIRP=$WORK/no-bind-cap
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start without CAP_NET_BIND_SERVICE"
failed=$(api_bad_request "add_hostfwd: slirp_add_hostfwd failed")
[ "$(add tcp 80)" = "$failed" ] || fail "port 80 without the capability: $(add tcp 80)"
[ "$(add udp 53)" = "$failed" ] || fail "UDP port 53 without the capability: $(add udp 53)"
expect_not "nothing listens on 80" port_is_listening 80
[ "$(add tcp 1024)" = '{"return":{"id":1}}' ] || fail "port 1024 without the capability refused"
stop_slirp
pass "privileged ports follow CAP_NET_BIND_SERVICE"
