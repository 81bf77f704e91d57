#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A checkout in a directory only root can enter (a clone in /root, the usual
# place) still passes the client tests: they stage what the unprivileged test
# user runs in a world-readable directory of their own. A copy of the tests
# and of the daemon under a 0700 directory runs the rootless, podman and
# rootlesskit tests, which start the daemon, podman's conmon and rootlesskit's
# child as the test user.
. "$(dirname "$0")/../lib.sh"

ensure_test_user
private=$WORK/private
install -d -m 700 "$private"
tree=$private/checkout
mkdir -p "$tree"
cp -r "$TESTS_DIR" "$tree/tests"
cp -r "$REPO/man" "$tree/man"
install -m 755 "$SLIRP" "$tree/$(basename "$SLIRP")"
as_test_user test -r "$tree/tests/lib.sh" && fail "the test user can read the copy: this test proves nothing"
as_test_user test -x "$tree/$(basename "$SLIRP")" && fail "the test user can reach the copied daemon"

ran=0
for name in rootless podman-port-forward rootlesskit-port-driver; do
    # A fresh run of the copy's own test, in its own host namespace.
    (cd "$tree" && env -u S4N_IN_HOST_NS -u STAGE SLIRP="$tree/$(basename "$SLIRP")" \
        bash "tests/integration/$name.sh") >"$WORK/$name.log" 2>&1 </dev/null
    status=$?
    case $status in
        0) ran=$((ran + 1)) ;;
        77) log "$name skipped in the copy: $(grep -m1 '^SKIP' "$WORK/$name.log")" ;;
        *)
            tail -n 20 "$WORK/$name.log"
            fail "$name failed from a checkout in a 0700 directory (status $status)"
            ;;
    esac
done
[ $ran -gt 0 ] || skip "no client test could run here"
pass "$ran client tests passed from a checkout the test user cannot read"
