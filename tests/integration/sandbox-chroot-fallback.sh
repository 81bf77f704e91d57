#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Where pivot_root is refused, --enable-sandbox falls back to chroot into the
# same read-only tmpfs. pivot_root is made to fail for real: the daemon runs
# chrooted into a directory that is not a mount point (as an initramfs root
# is not one pivot_root accepts), so it returns EINVAL. As root with
# --enable-sandbox, with --enable-sandbox --enable-seccomp, and rootless with
# both; and from the ordinary root with pivot_root refused with EACCES (a
# seccomp filter stands in for LXD's AppArmor): the daemon starts, logs one
# line naming the fallback, mounts nothing that propagates out, get_stats
# reports the sandbox as "chroot", its root (and its forward helper's) holds
# only etc and run, guest TCP reaches a host-side HTTP server through
# 10.0.2.2 and DNS through 10.0.2.3 answers, and SIGTERM exits 0 and removes
# the API socket. Started normally, the same daemon reports "pivot_root".
. "$(dirname "$0")/../lib.sh"

ensure_test_user
private_dns fallback.test 127.6.6.6
http_server 8000

# The root: a directory on a tmpfs of the test's own, not a mount point.
# What the daemon needs is there: /usr read-only, a fresh /proc (target
# namespaces), device nodes of its own, /etc with resolv.conf, empty /run and
# /tmp. lib.sh removes $WORK with rm -rf at exit, which must never walk into
# the bind of /usr: the tmpfs is detached first.
FS=$WORK/fs
ROOT=$FS/root
mkdir "$FS"
mount -t tmpfs -o mode=755 s4n-fallback "$FS" || fail "cannot mount a tmpfs on $FS"
# Shared, as mounts are on a systemd host: whatever the daemon mounts in its
# namespace under the root would show up here too, unless it makes its
# namespace private even though its root is not a mount point.
mount --make-shared "$FS"
trap 'umount --lazy "$FS"; cleanup' EXIT
mkdir -p "$ROOT"/{usr,proc,dev/net,etc,run,tmp,api}
mount --bind -o ro /usr "$ROOT/usr" || fail "cannot bind /usr into the root"
for link in bin sbin lib lib32 lib64; do
    [ -L "/$link" ] && ln -s "$(readlink "/$link")" "$ROOT/$link"
done
mount -t proc proc "$ROOT/proc" || fail "cannot mount /proc in the root"
mknod -m 666 "$ROOT/dev/net/tun" c 10 200
mknod -m 666 "$ROOT/dev/null" c 1 3
cp "$WORK/resolv.conf" "$ROOT/etc/resolv.conf"
cp /etc/ld.so.cache "$ROOT/etc/"
install -m 755 "$SLIRP" "$ROOT/slirp4netns"
# Sanitizer reports written before confinement land where lib.sh looks.
mkdir -p "$ROOT$REPORTS"
mount --bind "$REPORTS" "$ROOT$REPORTS"
# The API socket as the daemon names it, and as seen from here.
DAEMON_SOCK=/api/api.sock
SOCK=$ROOT$DAEMON_SOCK

# check_fallback LABEL CAPS REFUSAL ARGS...: one daemon run with ARGS, as the
# launcher in $SLIRP runs it, where pivot_root fails with REFUSAL (strerror);
# CAPS is what it must be left with.
check_fallback() {
    local label=$1 caps=$2 refusal=$3 line entries helper body answer
    shift 3
    start_slirp -c "$@" -a "$DAEMON_SOCK" "$GUEST_PID" tap0 || fail "$label: did not start"
    line=$(grep -c "^slirp4netns: --enable-sandbox: pivot_root: $refusal; confined by chroot" \
        "$WORK/slirp.log")
    [ "$line" = 1 ] || fail "$label: $line lines naming the chroot fallback, not 1"
    expect_not "$label: the daemon's mounts propagated out" mountpoint -q "$ROOT/tmp"
    [ "$(stats_field "$SOCK" sandbox)" = chroot ] ||
        fail "$label: get_stats reports sandbox '$(stats_field "$SOCK" sandbox)'"
    if [[ " $* " = *" --enable-seccomp "* ]]; then
        assert_confined "$SLIRP_PID" "$caps"
    else
        grep -q "^CapEff:[[:space:]]*$caps$" "/proc/$SLIRP_PID/status" ||
            fail "$label: $(grep CapEff "/proc/$SLIRP_PID/status"), expected $caps"
        entries=$(ls -A "/proc/$SLIRP_PID/root/" | tr '\n' ' ')
        [ "$entries" = "etc run " ] || fail "$label: the daemon's root holds '$entries'"
    fi
    helper=$(pgrep --parent "$SLIRP_PID" --exact slirp4netns-fwd) || fail "$label: no forward helper"
    entries=$(ls -A "/proc/$helper/root/" | tr '\n' ' ')
    [ "$entries" = "etc run " ] || fail "$label: the helper's root holds '$entries'"
    grep -q "^slirp4netns: port-forwarding helper: --enable-sandbox: pivot_root: $refusal; confined by chroot" \
        "$WORK/slirp.log" || fail "$label: the helper did not say it fell back"

    body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
    [ "$body" = "hello from host" ] || fail "$label: TCP to 10.0.2.2:8000 returned '$body'"
    assert_kernel_tcp "$SOCK"
    answer=$(dns_lookup fallback.test 10.0.2.3)
    [ "$answer" = 127.6.6.6 ] || fail "$label: DNS through 10.0.2.3 answered '$answer'"

    expect "$label: nothing was refused loudly" test -z "$(grep -i 'not permitted' "$WORK/slirp.log")"
    stop_slirp
    [ "$SLIRP_STATUS" = 0 ] || fail "$label: SIGTERM exit status $SLIRP_STATUS"
    expect "$label: API socket removed on exit" test ! -e "$SOCK"
}

start_guest
SLIRP=$(slirp_launcher in-root chroot "$ROOT" /slirp4netns) \
    check_fallback "root, sandbox" 0000000000000400 "Invalid argument" --enable-sandbox
SLIRP=$(slirp_launcher in-root chroot "$ROOT" /slirp4netns) \
    check_fallback "root, sandbox and seccomp" 0000000000000400 "Invalid argument" \
    --enable-sandbox --enable-seccomp
# A root that is a mount point, where a security module refuses pivot_root
# (as AppArmor does under LXD): EACCES, and the same fallback.
DAEMON_SOCK=$WORK/api.sock SOCK=$WORK/api.sock \
    SLIRP=$(slirp_launcher eacces python3 "$TESTS_DIR/integration/refuse-syscall.py" pivot_root \
        EACCES -- "$SLIRP") check_fallback "EACCES, sandbox and seccomp" 0000000000000400 \
    "Permission denied" --enable-sandbox --enable-seccomp

# Where pivot_root works, it is used, and get_stats says so.
start_slirp -c --enable-sandbox --enable-seccomp -a "$WORK/api.sock" "$GUEST_PID" tap0 ||
    fail "did not start outside the chroot"
[ "$(stats_field "$WORK/api.sock" sandbox)" = pivot_root ] ||
    fail "outside the chroot, get_stats reports sandbox '$(stats_field "$WORK/api.sock" sandbox)'"
expect_not "outside the chroot, a fallback was logged" grep -q 'confined by chroot' "$WORK/slirp.log"
stop_slirp
kill "$GUEST_PID"

world_usable_tun
chown "$TEST_USER" "$ROOT/api"
start_guest_as_test_user
uid=$(id -u "$TEST_USER") gid=$(id -g "$TEST_USER")
SLIRP=$(slirp_launcher in-root-rootless chroot --userspec="$uid:$gid" --groups="$gid" "$ROOT" \
    /slirp4netns) check_fallback "rootless, sandbox and seccomp" 0000000000000000 \
    "Invalid argument" --enable-sandbox --enable-seccomp

pass "pivot_root refused (EINVAL in a chroot, EACCES), chroot instead: root, root with seccomp, rootless and EACCES start, confined to etc and run, TCP and DNS work, get_stats says chroot; pivot_root where it works"
