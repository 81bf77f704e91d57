#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The man page's example, step by step, as an unprivileged user:
#   unshare --user --map-root-user --net --mount     (terminal 1)
#   slirp4netns --configure --mtu=65520 --disable-host-loopback PID tap0
#   ip a                                             (terminal 1)
#   curl http://192.0.2.254:8080/                    (a host beyond loopback)
# and the host's loopback stays out of reach, as --disable-host-loopback says.
. "$(dirname "$0")/../lib.sh"

# The man page documents every option --help lists and every API error desc.
man=$REPO/man/slirp4netns.1
text=$(sed 's/\\-/-/g' "$man")  # roff's \- is a plain hyphen here
options=$("$SLIRP" --help | grep -o -- '--[a-z0-9-]*' | sort -u)
[ "$(wc -w <<<"$options")" -ge 19 ] || fail "--help lists too few options: $options"
for option in $options; do
    grep -q -- "^\.B[IR]* .*$option" <<<"$text" || fail "man page lacks $option"
done
grep -o '"bad request: [^"]*"' "$REPO/api_request.hpp" "$REPO/api_request.cpp" | cut -d'"' -f2 | sort -u |
    while read -r desc; do
        grep -qF -- "$desc" <<<"$text" || { echo "man page lacks API error '$desc'"; exit 1; }
    done || fail "man page lacks an API error desc"
for command in add_hostfwd list_hostfwd remove_hostfwd get_stats; do
    grep -q "^\.SS $command" "$man" || fail "man page lacks API command $command"
done
if command -v man >/dev/null; then
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$man" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "man page renders with warnings: $warnings"
fi

ensure_test_user
world_usable_tun
http_server 8000
peer_network
peer_http_server "hello from outside"

# Terminal 1: the user's new namespaces; the shell records its PID, as in
# the manual's `echo $$`.
mkdir -m 777 "$WORK/user"
as_test_user unshare --user --map-root-user --net --mount \
    sh -c "echo \$\$ >$WORK/user/pid; exec sleep 1000" &
BACKGROUND_PIDS+=($!)
wait_until 5 test -s "$WORK/user/pid" || fail "unshare did not start"
GUEST_PID=$(cat "$WORK/user/pid")
BACKGROUND_PIDS+=($GUEST_PID)

# Terminal 2: the daemon, unprivileged too.
setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env -- \
    "$SLIRP" --configure --mtu=65520 --disable-host-loopback "$GUEST_PID" tap0 >"$WORK/slirp.log" 2>&1 &
SLIRP_PID=$!
BACKGROUND_PIDS+=($SLIRP_PID)

configured() { in_guest ip -o -4 addr show dev tap0 2>/dev/null | grep -q "inet 10.0.2.100/24"; }
wait_until 10 configured || fail "tap0 never got 10.0.2.100/24"
addrs=$(in_guest ip a)
log "$addrs"
grep -q "tap0: <.*UP.*> mtu 65520" <<<"$addrs" || fail "tap0 is not up with MTU 65520: $addrs"
grep -q "inet 10.0.2.100/24" <<<"$addrs" || fail "no 10.0.2.100/24 in ip a"
grep -q "lo: <LOOPBACK,UP" <<<"$addrs" || fail "lo is not up"
grep -q "Starting slirp" "$WORK/slirp.log" || fail "no start banner"
kill -0 "$SLIRP_PID" 2>/dev/null || fail "daemon exited"

body=$(in_guest curl -s -m 10 http://192.0.2.254:8080/)
[ "$body" = "hello from outside" ] || fail "curl http://192.0.2.254:8080/ returned '$body'"
# The manual's command line has no API socket to ask get_stats.
assert_kernel_peer 192.0.2.254 8080
expect_not "host loopback refused with --disable-host-loopback" \
    in_guest curl -s -m 5 -o /dev/null http://10.0.2.2:8000/
pass "the manual's example works as written"
