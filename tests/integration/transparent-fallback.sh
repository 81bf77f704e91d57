#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# When the namespace refuses the transparent setup (here /proc/sys is
# read-only for the daemon, as in many containers, so tcp_fwmark_accept
# cannot be set), the daemon says so in one line, leaves no rule or route
# behind, and auto keeps slirp mode for forwards that remote clients reach:
# they still work and still show the client's real address. Loopback-bound
# forwards are spliced as before (the guest sees its own address), and
# list_hostfwd shows each entry's real mode.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
PEER_PY=$TESTS_DIR/integration/transparent-peer.py

REAL_SLIRP=$SLIRP
SLIRP=$WORK/read-only-sysctl
{
    echo '#!/bin/sh'
    echo '# Runs the daemon in a mount namespace whose /proc/sys is read-only.'
    echo "real='$REAL_SLIRP'"
    cat <<'WRAPPER'
exec unshare --mount --propagation private sh -c \
    'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$0" "$@"' "$real" "$@"
WRAPPER
} >"$SLIRP"
chmod 755 "$SLIRP"

start_guest
peer_network
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
background nsenter --target "$GUEST_PID" --net python3 "$PEER_PY" serve 7100
wait_until 10 in_guest sh -c 'ss -Hltn "sport = :7100" | grep -q . && ss -Hlun "sport = :7100" | grep -q .' ||
    fail "guest server did not start"

[ "$(grep -c "cannot show clients' addresses" "$WORK/slirp.log")" = 1 ] ||
    fail "expected one line about the fallback: $(cat "$WORK/slirp.log")"
grep -q "tcp_fwmark_accept" "$WORK/slirp.log" || fail "the line does not name what was refused: $(cat "$WORK/slirp.log")"
in_guest ip rule | grep -q 1936484722 && fail "a refused setup left rules: $(in_guest ip rule)"
in_guest ip route show table all | grep -q 1936484722 && fail "a refused setup left routes"

api_add "$SOCK" '"proto":"tcp","host_port":17301,"guest_port":7100'
api_add "$SOCK" '"proto":"udp","host_port":17301,"guest_port":7100'
api_add "$SOCK" '"proto":"tcp","host_addr":"127.0.0.1","host_port":17302,"guest_port":7100'
api_add "$SOCK" '"proto":"tcp","host_port":17303,"guest_port":7100,"mode":"splice"'
list=$(api "$SOCK" '{"execute":"list_hostfwd"}')
grep -q '"host_port":17301,[^}]*"mode"' <<<"$list" && fail "the 0.0.0.0 forwards are not listed as slirp: $list"
grep -q '"host_port":17302,[^}]*"mode":"splice"' <<<"$list" || fail "the loopback forward is not spliced: $list"
grep -q '"host_port":17303,[^}]*"mode":"splice"' <<<"$list" || fail "the explicit splice forward is not listed: $list"

for proto in tcp udp; do
    size=1000000
    [ $proto = udp ] && size=1200
    seen=$(in_peer timeout 60 python3 "$PEER_PY" $proto 192.0.2.1 17301 $size) || fail "$proto through the fallen-back forward: data lost"
    [ "$seen" = 192.0.2.254 ] || fail "$proto through the fallen-back forward showed '$seen', not 192.0.2.254"
done
seen=$(timeout 60 python3 "$PEER_PY" tcp 127.0.0.1 17302 100000) || fail "the loopback splice forward lost data"
[ "$seen" = 10.0.2.100 ] || fail "the loopback splice forward showed '$seen', not the namespace's own address"
seen=$(in_peer timeout 60 python3 "$PEER_PY" tcp 192.0.2.1 17303 100000) || fail "the explicit splice forward lost data"
[ "$seen" = 10.0.2.100 ] || fail "the explicit splice forward showed '$seen', not the namespace's own address"
pass "refused setup: one line, nothing left behind; 0.0.0.0 forwards in slirp mode show 192.0.2.254; splice ones work"
