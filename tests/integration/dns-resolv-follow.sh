#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The DNS forwarder follows resolv.conf while it runs, with and without
# --enable-sandbox (and seccomp): the file rewritten in place (same size, so
# only the time stamps tell), replaced by rename, then a symlink into /run
# (systemd-resolved's and NetworkManager's layout) retargeted. After each
# change the guest's next queries reach the new nameserver within seconds,
# also after two rewrites of the same size within one second.
# Debian's original runs the same steps; what it follows is logged only.
# /etc is an overlay and /run a tmpfs, private to this test's mount namespace.
. "$(dirname "$0")/../lib.sh"

[ "${S4N_TCP_PATH:-}" = slirp ] && skip "DNS is libslirp's with --tcp-path=slirp"
mkdir -p "$WORK/etc-upper" "$WORK/etc-work"
mount -t overlay s4n-etc -o "lowerdir=/etc,upperdir=$WORK/etc-upper,workdir=$WORK/etc-work" /etc ||
    fail "cannot overlay /etc"
mount -t tmpfs s4n-run /run
mkdir /run/nm /run/resolve
for n in 1 2 3 4 5; do dns_server answer 127.0.0.1$n 198.51.100.$n; done

# follows STEP N: whether the guest's queries reach nameserver N (answer
# 198.51.100.N) within 10 s; logs the step either way.
follows() {
    local got
    if wait_until 10 sh -c "[ \"\$(nsenter --target $GUEST_PID --net python3 $TESTS_DIR/integration/dns-peer.py ask 10.0.2.3 follow.test udp 2)\" = 198.51.100.$2 ]"; then
        log "$LABEL: $1: followed"
        return 0
    fi
    got=$(dns_ask 10.0.2.3 follow.test)
    log "$LABEL: $1: not followed (the guest got '$got', want 198.51.100.$2)"
    return 1
}
# steps: the changes, in order; returns how many were not followed.
steps() {
    local missed=0
    printf 'nameserver 127.0.0.11\n' >/etc/resolv.conf.tmp
    mv /etc/resolv.conf.tmp /etc/resolv.conf
    start_guest
    start_slirp -c "$@" "$GUEST_PID" tap0 || { log "$LABEL: did not start"; return 9; }
    follows "at start" 1 || missed=$((missed + 1))
    printf 'nameserver 127.0.0.12\n' >/etc/resolv.conf  # in place, same size
    follows "rewritten in place" 2 || missed=$((missed + 1))
    printf 'nameserver 127.0.0.13\n' >/etc/resolv.conf.tmp
    mv /etc/resolv.conf.tmp /etc/resolv.conf
    follows "renamed over" 3 || missed=$((missed + 1))
    # Two rewrites of the same size in one second, a query between them:
    # only time stamps finer than a second tell the second one apart.
    sleep 1
    python3 -c 'import time; time.sleep(1 - time.time() % 1)'
    printf 'nameserver 127.0.0.11\n' >/etc/resolv.conf
    dns_ask 10.0.2.3 between.test >/dev/null
    printf 'nameserver 127.0.0.12\n' >/etc/resolv.conf
    follows "rewritten twice within a second" 2 || missed=$((missed + 1))
    printf 'nameserver 127.0.0.14\n' >/run/nm/resolv.conf
    printf 'nameserver 127.0.0.15\n' >/run/resolve/stub-resolv.conf
    ln -s ../run/nm/resolv.conf /etc/resolv.conf.tmp
    mv -T /etc/resolv.conf.tmp /etc/resolv.conf
    follows "a symlink into /run" 4 || missed=$((missed + 1))
    ln -s ../run/resolve/stub-resolv.conf /etc/resolv.conf.tmp
    mv -T /etc/resolv.conf.tmp /etc/resolv.conf
    follows "the symlink retargeted" 5 || missed=$((missed + 1))
    stop_slirp
    return $missed
}

LABEL=ours steps || fail "ours missed $? of the changes (log above)"
LABEL="ours, sandbox" steps --enable-sandbox --enable-seccomp ||
    fail "ours in the sandbox missed $? of the changes (log above)"
if original=$(original_slirp4netns); then
    LABEL=original SLIRP=$original steps
    log "original: missed $? of 6"
    LABEL="original, sandbox" SLIRP=$original steps --enable-sandbox --enable-seccomp
    log "original, sandbox: missed $? of 6"
fi
pass "rewritten, renamed, symlinked and retargeted: followed, with and without the sandbox"
