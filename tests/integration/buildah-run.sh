#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# buildah's `RUN --network slirp4netns` (through containers/common, as
# podman 5's call but without -e): rootless, from inside the user namespace
# that owns the build container's network namespace, started with
# PR_SET_PDEATHSIG=SIGKILL, so it is killed outright when buildah's process
# goes. Nothing may be left that a later run trips over: no process of ours
# (the namespace helper dies with the daemon) and no socket file a second
# run with the same API socket path cannot take over.
. "$(dirname "$0")/../lib.sh"

rootless_client_host
install -d -o "$TEST_USER" "$WORK/user"
API=$WORK/user/buildah.sock

# The parent: forks the daemon with the parent-death signal set (as Go's
# SysProcAttr.Pdeathsig does, after any credential change), then waits.
cat >"$WORK/pdeathsig-parent.py" <<'PY'
import ctypes, os, signal, sys
pid = os.fork()
if pid == 0:
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.execv(sys.argv[1], sys.argv[1:])
os.close(3)
os.waitpid(pid, 0)
PY

# build_run N: one RUN step: a fresh build container, our daemon under a
# parent that is then SIGKILLed. The forward and its traffic prove the run
# worked; afterwards no process of ours may remain.
build_run() {
    local n=$1 parent body
    start_guest_as_test_user
    SLIRP=$(slirp_launcher "buildah-$n" setpriv --reuid="$TEST_USER" --regid="$TEST_USER" \
        --init-groups --reset-env -- nsenter --target "$GUEST_PID" --user --preserve-credentials -- \
        python3 "$WORK/pdeathsig-parent.py" "$SLIRP") start_client_slirp 3 - \
        --disable-host-loopback --mtu=65520 --enable-sandbox --enable-seccomp --enable-ipv6 \
        -c -r 3 --api-socket "$API" --netns-type=path "/proc/$GUEST_PID/ns/net" tap0 ||
        fail "run $n: buildah's command line did not start"
    parent=$SLIRP_PID
    [ "$(our_processes | wc -l)" -ge 2 ] || fail "run $n: expected the daemon and its namespace helper: $(our_processes)"
    grep -q "inet 10.0.2.100/24" <<<"$(in_guest ip -o -4 addr show dev tap0)" || fail "run $n: tap0 not configured"

    guest_http_server 8080 0.0.0.0 "served by the build container"
    API_CLIENT=api_as_test_user api_add "$API" '"proto":"tcp","host_addr":"127.0.0.1","host_port":18092,"guest_port":8080'
    body=$(curl -s -m 10 http://127.0.0.1:18092/)
    [ "$body" = "served by the build container" ] || fail "run $n: the forward returned '$body'"

    kill -KILL "$parent"
    wait "$parent" 2>/dev/null
    gone() { [ -z "$(our_processes)" ]; }
    wait_until 10 gone || fail "run $n: left running after buildah's process was killed: pids $(our_processes | tr '\n' ' ')"
    curl -s -m 2 http://127.0.0.1:18092/ >/dev/null && fail "run $n: port 18092 still answers"
    kill "$GUEST_PID" 2>/dev/null
}

build_run 1
# A SIGKILLed daemon cannot remove its socket file; the next run must take
# the stale file over rather than trip over it.
[ -S "$API" ] && log "run 1 left its (stale) socket file, as any SIGKILLed daemon does"
build_run 2
pass "two buildah RUN steps on one API socket path; each ended by SIGKILL with its parent, nothing of ours left"
