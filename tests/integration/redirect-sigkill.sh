#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A redirecting daemon killed with SIGKILL, in rootlesskit's shape (tap0
# made beforehand in the test user's namespaces, no -c, sandboxed and
# seccomp'd, as that user): its slirp4netns-tcp process removes the veths
# (TCP's and UDP's), the filters and the clsact qdisc it made, and exits. When both are killed
# at once, the filters stay behind on tap0, pointing at a veth that is gone;
# the next daemon on the same tap0 replaces them (no more filters than a
# first daemon's), reports redirect, the guest's TCP to the gateway and to
# an outside peer arrives intact past it, its UDP by tc too, and on SIGTERM it removes its own.
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

BYTES=$((16 << 20)) # each way
VETH=$(redirect_veth tap0)

rootless_client_host
peer_network
tcp_peer_server "$WORK/server.log"
tcp_peer_server "$WORK/peer.log" 192.0.2.254 nsenter --target "$PEER_PID" --net
udp_peer_server 127.0.0.1 7001
install -d -o "$TEST_USER" "$WORK/user"
start_guest_as_test_user
pre_made_tap tap0 in_child
guest_tap_config tap0 in_child
LAUNCHER=$(slirp_launcher as-test-user setpriv --reuid="$TEST_USER" --regid="$TEST_USER" \
    --init-groups --reset-env -- "$SLIRP")

# daemon N: the Nth daemon on tap0, as the test user, with its own API
# socket ($SOCK); waits for its veth and checks its state. Sets KEEPER.
daemon() {
    SOCK=$WORK/user/api$1.sock
    SLIRP=$LAUNCHER start_slirp --enable-sandbox --enable-seccomp -a "$SOCK" "$GUEST_PID" tap0 ||
        fail "daemon $1 did not start"
    wait_redirect "$SOCK" tap0 "daemon $1"
    assert_redirect_state tap0 "daemon $1"
    KEEPER=$(tcp_keeper_pid)
}

# traffic N: the guest's TCP through daemon N, to the gateway and the peer,
# kernel to kernel.
traffic() {
    round_trips_past "$SOCK" "$BYTES" "daemon $1"
    assert_kernel_tcp "$SOCK" 4
    udp_round_trip 10.0.2.2 7001 1000 "daemon $1, UDP"
    assert_udp_redirect_state tap0 "daemon $1"
    assert_kernel_udp "$SOCK" 1000 1
}

# Only the daemon dies: its slirp4netns-tcp cleans up.
daemon 1
# Before any UDP, so before its filters go in.
filters=$(in_guest tc filter show dev tap0 egress | grep -c "^filter")
traffic 1
kill -KILL "$SLIRP_PID"
wait "$SLIRP_PID" 2>/dev/null
wait_until 10 process_gone "$KEEPER" || fail "slirp4netns-tcp (pid $KEEPER) still runs 10 s after the daemon's SIGKILL"
wait_until 5 redirect_state_gone tap0 ||
    fail "after the daemon's SIGKILL: left $(in_guest tc filter show dev tap0 egress | grep -c "^filter") filters, $(in_guest ip -o link show dev "$VETH" 2>&1)"
expect_not "after the daemon's SIGKILL: our clsact qdisc is gone" has_clsact tap0
in_guest ip link show dev tap0 >/dev/null 2>&1 || fail "tap0 did not stay"

# Both die at once: nothing cleans up.
daemon 2
traffic 2
kill -KILL "$SLIRP_PID" "$KEEPER"
wait "$SLIRP_PID" 2>/dev/null
wait_until 10 process_gone "$KEEPER" || fail "slirp4netns-tcp (pid $KEEPER) survived SIGKILL"
stale=$(redirect_prios tap0 | paste -sd ' ')
[ -n "$stale" ] || fail "nothing stale after both were killed: the case to test did not arise"
log "stale after both were killed: filters at $stale; $(in_guest ip -o link show dev "$VETH" 2>&1 | head -n 1); $(in_guest ip -o link show dev "$(udp_veth tap0)" 2>&1 | head -n 1)"

# The next daemon on that tap0 replaces them and works.
daemon 3
now=$(in_guest tc filter show dev tap0 egress | grep -c "^filter")
[ "$now" = "$filters" ] ||
    fail "daemon 3 runs with $now egress filters on tap0, daemon 1 had $filters: the stale ones stayed"
traffic 3
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "daemon 3: exit status $SLIRP_STATUS"
wait_until 10 process_gone "$KEEPER" || fail "daemon 3's slirp4netns-tcp (pid $KEEPER) outlived it"
wait_until 10 redirect_state_gone tap0 || fail "daemon 3 left filters at '$(redirect_prios tap0 | paste -sd ' ')'"
# Daemon 1 made the clsact qdisc (tap0 had none): daemon 3 knew it for
# one of ours by its mark, so it went with daemon 3.
expect_not "after daemon 3: the clsact qdisc daemon 1 made is gone" has_clsact tap0
pass "SIGKILL: slirp4netns-tcp cleaned up; both killed: stale filters at $stale replaced by the next daemon, whose TCP went kernel to kernel"
