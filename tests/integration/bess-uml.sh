#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --target-type=bess with a real client: Debian's User Mode Linux boots with a
# vector interface on our BESS socket, configures 10.0.2.100/24 via 10.0.2.2
# and fetches a page from a server on the host side's loopback. Also: the
# options BESS mode cannot be combined with are refused.
. "$(dirname "$0")/../lib.sh"

command -v linux.uml >/dev/null || skip "user-mode-linux is not installed (make deps)"

sock=$WORK/bess.sock
# refused PATTERN ARGS...: one line naming the problem, non-zero exit.
refused() {
    local pattern=$1 out
    shift
    out=$("$SLIRP" "$@" 2>&1) && fail "accepted: $*"
    [ "$(wc -l <<<"$out")" = 1 ] || fail "error for '$*' is not one line: $out"
    grep -qi -- "$pattern" <<<"$out" || fail "error for '$*' does not name $pattern: $out"
}
refused "--configure.*bess" --configure --target-type=bess "$sock"
refused "--netns-type.*bess" --netns-type=path --target-type=bess "$sock"
refused "--userns-path.*bess" --userns-path=/proc/self/ns/user --target-type=bess "$sock"
refused "TAPNAME" --target-type=bess "$sock" tap0
refused "missing PATH" --target-type=bess
refused "target-type" --target-type=vde "$sock"
touch "$WORK/not-a-socket"
out=$("$SLIRP" --target-type=bess "$WORK/not-a-socket" 2>&1) && fail "listened over a regular file"
grep -q "not a socket" <<<"$out" || fail "clobbering a regular file: unclear error: $out"
[ -f "$WORK/not-a-socket" ] || fail "the regular file was removed"

# Stopped before any client came: clean exit, socket file removed.
start_slirp --target-type=bess "$sock" || fail "did not start in BESS mode"
[ -S "$sock" ] || fail "no socket at $sock"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "SIGTERM before any client: exit status $SLIRP_STATUS"
[ -e "$sock" ] && fail "socket file left behind after SIGTERM"

http_server 8000
echo "page served to the UML guest" >"$WORK/www/index.html"
cat >"$WORK/init.sh" <<INIT
#!/bin/sh
$UML_GUEST_ENV
mount -t proc proc /proc
ip link set lo up
ip addr add 10.0.2.100/24 dev vec0
ip link set vec0 up
ip route add default via 10.0.2.2
ip -o -4 addr show dev vec0 >$WORK/guest-addr
curl -s -m 10 -o $WORK/guest-page http://10.0.2.2:8000/
echo "curl exit \$?" >$WORK/guest-curl
# A held connection's TCP options (Python does not start in this guest).
sleep 30 | busybox nc 10.0.2.2 8000 &
for i in \$(seq 100); do
    ss -tniH state established dst 10.0.2.2 >$WORK/guest-options
    grep -q . $WORK/guest-options && break
    sleep 0.1
done
poweroff -f
INIT
chmod 755 "$WORK/init.sh"

# boot_guest DAEMON_OPTIONS...: one UML guest against a fresh daemon.
boot_guest() {
    local what="BESS${*:+ with $*}" start status
    rm -f "$WORK"/guest-*
    start_slirp --target-type=bess "$@" "$sock" || fail "$what: did not start"
    [ -S "$sock" ] || fail "$what: no socket at $sock"
    start=$SECONDS
    uml_boot "$WORK/uml.log" "vec0:transport=bess,dst=$sock,depth=128,gro=1" "init=$WORK/init.sh"
    status=$?
    log "$what: UML ran for $((SECONDS - start)) s (status $status)"
    if [ ! -s "$WORK/guest-curl" ]; then
        tail -n 20 "$WORK/uml.log"
        fail "$what: the UML guest did not get to fetch the page"
    fi
    grep -q "inet 10.0.2.100/24" "$WORK/guest-addr" || fail "$what: guest address: $(cat "$WORK/guest-addr")"
    [ "$(cat "$WORK/guest-curl")" = "curl exit 0" ] || fail "$what: guest fetch failed: $(cat "$WORK/guest-curl")"
    [ "$(cat "$WORK/guest-page")" = "page served to the UML guest" ] ||
        fail "$what: guest got '$(cat "$WORK/guest-page")'"
    [ -e "$sock" ] && fail "$what: the socket file is still there after the client connected"
    # The daemon ends with its client, so no API to ask: window scaling on
    # the guest's connection shows a real kernel answered (libslirp's TCP
    # has none).
    [ "${S4N_TCP_PATH:-}" = slirp ] || grep -q "wscale:" "$WORK/guest-options" ||
        fail "$what: no window scaling on the guest's connection: $(cat "$WORK/guest-options")"
    # The client is gone: the daemon ends by itself, like with a vanished tap.
    wait_until 10 sh -c "! kill -0 $SLIRP_PID 2>/dev/null" || fail "$what: daemon kept running after the client left"
    grep -q "BESS client is gone" "$WORK/slirp.log" || fail "$what: no message about the client leaving"
}

begin=$SECONDS
boot_guest
boot_guest --enable-sandbox --enable-seccomp

# Rootless and confined, with a minimal client of our own: one ARP request
# in one message, the gateway's ARP reply back in one message.
ensure_test_user
mkdir -m 777 "$WORK/user"
usock=$WORK/user/bess.sock
setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env -- \
    "$SLIRP" --target-type=bess --enable-sandbox --enable-seccomp "$usock" >"$WORK/slirp.log" 2>&1 &
BACKGROUND_PIDS+=($!)
wait_until 5 test -S "$usock" || fail "rootless: no socket at $usock"
reply=$(timeout 10 python3 - "$usock" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(5)
mac = bytes.fromhex("020000000064")
arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, socket.inet_aton("10.0.2.100"),
                  bytes(6), socket.inet_aton("10.0.2.2"))
s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp)
while True:
    f = s.recv(65536)
    if f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02" and f[38:42] == socket.inet_aton("10.0.2.100"):
        print("is-at", socket.inet_ntoa(f[28:32]), len(f))
        break
PY
)
[[ $reply == "is-at 10.0.2.2 "* ]] || fail "rootless: no ARP reply from the gateway (got '$reply')"
pass "UML guests over BESS (plain, sandboxed with seccomp) fetched the host's page; rootless sandboxed daemon answered ARP; $((SECONDS - begin)) s"
