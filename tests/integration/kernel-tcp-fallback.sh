#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The kernel TCP path's fallback, with the default --tcp-path: where the
# private namespace cannot be made, the daemon logs one line ("kernel TCP
# path unavailable (...); TCP goes through libslirp"), get_stats says
# tcp_path slirp and kernel_tcp_delivery none, and guest TCP, out and to the
# gateway, goes through libslirp's TCP. What refuses the namespace is what
# really can: the target's user namespace allows no more network namespaces
# (/proc/sys/user/max_net_namespaces, set inside it, where the guest's own
# namespace already counts). Once as root, once rootless, sandboxed and
# seccomp'd, as podman runs it.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

PEER=$TESTS_DIR/integration/tcp-peer.py
peer_network
peer_whoami_server 9000
http_server 8000

# fell_back SOCKET LABEL: the daemon serving SOCKET logged the fallback once
# and carries the guest's TCP through libslirp.
fell_back() {
    local sock=$1 label=$2 lines seen body options
    # The namespace is made after ready-fd: the line follows it.
    wait_until 10 grep -q "kernel TCP path unavailable" "$WORK/slirp.log" ||
        fail "$label: no line about the fallback: $(cat "$WORK/slirp.log")"
    lines=$(grep -c "kernel TCP path unavailable" "$WORK/slirp.log")
    [ "$lines" = 1 ] || fail "$label: $lines lines about the fallback, want one: $(cat "$WORK/slirp.log")"
    grep -q "^slirp4netns: kernel TCP path unavailable (.*); TCP goes through libslirp$" "$WORK/slirp.log" ||
        fail "$label: the fallback line: $(grep "kernel TCP path" "$WORK/slirp.log")"
    seen=$(in_guest socat -T 5 -u TCP:192.0.2.254:9000 - 2>&1)
    [ "$seen" = 192.0.2.1 ] || fail "$label: after the fallback the peer saw '$seen'"
    body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
    [ "$body" = "hello from host" ] || fail "$label: HTTP through 10.0.2.2 returned '$body'"
    # libslirp's TCP agrees none of the options a kernel would.
    options=$(in_guest python3 "$PEER" options 10.0.2.2 8000)
    [ "$options" = none ] || fail "$label: the guest's connection agreed '$options', not libslirp's none"
    [ "$(stats_field "$sock" tcp_path)" = slirp ] || fail "$label: get_stats does not say tcp_path slirp"
    [ "$(stats_field "$sock" kernel_tcp_delivery)" = none ] ||
        fail "$label: get_stats says kernel_tcp_delivery '$(stats_field "$sock" kernel_tcp_delivery)', not none"
    [ "$(stats_field "$sock" kernel_tcp_total)" = 0 ] || fail "$label: the kernel TCP path counted connections"
    log "$label: $(grep "kernel TCP path unavailable" "$WORK/slirp.log")"
}

limited_guest
start_slirp -c -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
fell_back "$WORK/api.sock" root
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "root: exit status $SLIRP_STATUS"

ensure_test_user
world_usable_tun
install -d -o "$TEST_USER" "$WORK/user"
limited_guest setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env --
SLIRP=$(slirp_launcher as-test-user setpriv --reuid="$TEST_USER" --regid="$TEST_USER" \
    --init-groups --reset-env -- "$SLIRP") start_slirp -c --enable-sandbox --enable-seccomp \
    -a "$WORK/user/api.sock" "$GUEST_PID" tap0 || fail "rootless: did not start"
fell_back "$WORK/user/api.sock" rootless
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "rootless: exit status $SLIRP_STATUS"
pass "root and rootless (sandboxed): one line, tcp_path slirp, TCP out and to the gateway through libslirp"
