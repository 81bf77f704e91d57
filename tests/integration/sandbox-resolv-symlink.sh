#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --enable-sandbox keeps only /etc and /run, so an /etc/resolv.conf symlink
# leading elsewhere would silently break DNS forwarding: the daemon refuses
# to start, with one line naming the link. A symlink into /run (as
# systemd-resolved makes it) is followed, and DNS works inside the sandbox.
# /etc is an overlay private to this test's mount namespace.
. "$(dirname "$0")/../lib.sh"

mkdir -p "$WORK/etc-upper" "$WORK/etc-work"
mount -t overlay s4n-etc -o "lowerdir=/etc,upperdir=$WORK/etc-upper,workdir=$WORK/etc-work" /etc ||
    fail "cannot overlay /etc"
echo "nameserver 127.0.0.1" >"$WORK/outside.conf"
rm -f /etc/resolv.conf
ln -s "$WORK/outside.conf" /etc/resolv.conf

start_guest
start_slirp -c --enable-sandbox --enable-seccomp "$GUEST_PID" tap0 && fail "started with resolv.conf outside"
wait "$SLIRP_PID"
status=$?
[ "$status" != 0 ] || fail "exit status 0 with resolv.conf outside /etc and /run"
lines=$(grep -c "^slirp4netns:" "$WORK/slirp.log")
[ "$lines" = 1 ] || fail "expected one line of error, got $lines"
expect "the error names the link and its target" \
    grep -q "/etc/resolv.conf -> $WORK/outside.conf leads outside /etc and /run" "$WORK/slirp.log"
refusal=$(grep "^slirp4netns:" "$WORK/slirp.log")

# Through /run: followed, and DNS forwarding reads it from inside the sandbox.
mount -t tmpfs s4n-run /run
mkdir /run/s4n-resolve
echo "nameserver 192.0.2.99" >/run/s4n-resolve/resolv.conf
rm /etc/resolv.conf
ln -s ../run/s4n-resolve/resolv.conf /etc/resolv.conf
private_dns sandbox.test 127.8.8.8  # binds over the symlink's target in /run
start_slirp -c --enable-sandbox --enable-seccomp "$GUEST_PID" tap0 || fail "did not start with resolv.conf in /run"
assert_confined "$SLIRP_PID" 0000000000000400
answer=$(dns_lookup sandbox.test 10.0.2.3)
[ "$answer" = 127.8.8.8 ] || fail "DNS via a resolv.conf in /run answered '$answer'"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
pass "refused: $refusal; a link into /run works"
