#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# UDP GSO from the guest: the guest's tap takes USO, so a UDP_SEGMENT send
# of 46 datagrams reaches the daemon as one frame. The kernel UDP path sends
# it whole (one sendmsg with UDP_SEGMENT), to the gateway (the host's
# loopback) and to a peer outside, IPv4 and IPv6; where the route's MTU is
# below the datagrams the host refuses that, and they go one by one (and
# fragmented), none lost; the same confined by --enable-sandbox and
# --enable-seccomp. --pcap holds the datagrams, not the GSO frames.
# With --udp-path=slirp the daemon cuts the frames into datagrams for
# libslirp, which delivers every one. A paced sender, so every datagram
# must arrive, unchanged and once; get_stats counts datagrams, and one
# frame from the guest per send.
. "$(dirname "$0")/../lib.sh"

WRITES=${S4N_GSO_WRITES:-60}
SEGMENT=1400
PER_WRITE=$((65000 / SEGMENT)) # what udp-peer.py's gso-send puts in a write
command -v tcpdump >/dev/null || skip "tcpdump is not installed (tests/install-deps.sh installs it)"
peer_network

# gso_round HOST PORT SINK_ADDRESS [PREFIX...]: a sink on SINK_ADDRESS:PORT
# (run through PREFIX), the guest's paced UDP_SEGMENT writes to HOST:PORT;
# fails unless the sink got every datagram intact. Adds to SENT.
gso_round() {
    local host=$1 port=$2 address=$3 out sent got
    shift 3
    out=$WORK/sink-$port-$RANDOM
    background "$@" python3 "$TESTS_DIR/integration/udp-peer.py" sink "$address" "$port" 60 check >"$out"
    local shown=$address
    [[ $address == *:* ]] && shown="[$address]"
    wait_until 10 "$@" sh -c "ss -Hlun 'sport = :$port' | grep -qF '$shown:$port'" ||
        fail "sink on $shown:$port did not start"
    # The next hop resolved first (a TCP connect, refused): while the
    # guest's kernel asks for it, it holds only about three 64 KB frames.
    in_guest timeout 5 bash -c "echo >/dev/tcp/$host/$port" 2>/dev/null
    sent=$(udp_peer gso-send "$host" "$port" 0 "$SEGMENT" "$WRITES")
    [ "$sent" = "sent $((WRITES * PER_WRITE)) $((WRITES * PER_WRITE * SEGMENT))" ] ||
        fail "$ROUND: gso-send to $host:$port: '$sent'"
    wait_until 20 grep -q received "$out" || fail "$ROUND: the sink on $shown:$port never ended"
    got=$(cat "$out")
    log "$ROUND: $host:$port $sent, $got"
    [ "$got" = "received $((WRITES * PER_WRITE)) $((WRITES * PER_WRITE * SEGMENT)) bad 0" ] ||
        fail "$ROUND: $host:$port: $sent, but the sink $got (the daemon dropped $(stats_field "$SOCK" kernel_udp_dropped 2>&1); the guest's tap: $(in_guest ip -s link show dev tap0 | tr -s ' \n' ' '))"
    SENT=$((SENT + WRITES * PER_WRITE))
}

# one_frame_per_write: the daemon read (about) one frame per write, not one
# per datagram: the guest's sends came as GSO frames.
one_frame_per_write() {
    local frames
    frames=$(stats_field "$SOCK" frames_from_guest)
    log "$ROUND: frames from the guest $frames for $SENT datagrams"
    [ "$frames" -lt $((SENT / 10)) ] ||
        fail "$ROUND: $frames frames from the guest for $SENT datagrams: no UDP GSO from the guest"
}

SOCK=$WORK/api.sock
CAP=$WORK/gso.pcap
start_guest
ROUND=kernel
SENT=0
start_slirp -c -6 --pcap "$CAP" -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"
wait_until 15 guest_has_ra_address || fail "no usable IPv6 address in the guest"
[ "$(stats_field "$SOCK" udp_path)" = kernel ] || fail "not the kernel UDP path"
gso_round 10.0.2.2 7101 127.0.0.1
gso_round fd00::2 7102 ::1
gso_round 192.0.2.254 7103 192.0.2.254 nsenter --target "$PEER_PID" --net --
gso_round 2001:db8::fe 7104 2001:db8::fe nsenter --target "$PEER_PID" --net --
# The route to the peer below the datagrams: the host refuses the GSO send.
ip link set dev s4n-h mtu 1280
in_peer ip link set dev s4n-p mtu 1280
ROUND="kernel, route MTU 1280"
gso_round 192.0.2.254 7105 192.0.2.254 nsenter --target "$PEER_PID" --net --
gso_round 2001:db8::fe 7106 2001:db8::fe nsenter --target "$PEER_PID" --net --
ROUND=kernel
taken=$(stats_field "$SOCK" kernel_udp_datagrams_from_guest)
[ "$taken" = "$SENT" ] || fail "kernel_udp_datagrams_from_guest is $taken, the guest sent $SENT"
bytes=$(stats_field "$SOCK" kernel_udp_bytes_from_guest)
[ "$bytes" = $((SENT * SEGMENT)) ] || fail "kernel_udp_bytes_from_guest is $bytes, expected $((SENT * SEGMENT))"
dropped=$(stats_field "$SOCK" kernel_udp_dropped)
[ "$dropped" = 0 ] || fail "kernel_udp_dropped is $dropped"
one_frame_per_write
stop_slirp
# The capture: each datagram as the guest meant it, checksum and all.
captured=$(tcpdump -n -vv -r "$CAP" 'udp and dst portrange 7101-7106' 2>/dev/null)
count=$(grep -c "length $SEGMENT" <<<"$captured")
[ "$count" = "$SENT" ] || fail "--pcap holds $count datagrams of $SEGMENT bytes, the guest sent $SENT"
! grep -qi "bad udp cksum\|bad cksum" <<<"$captured" || fail "--pcap holds datagrams with a bad checksum"

# Confined: sendmsg with its control message, and the sends one by one.
ROUND="kernel, sandbox and seccomp"
SENT=0
start_slirp -c -6 --enable-sandbox --enable-seccomp -a "$SOCK" "$GUEST_PID" tap0 ||
    fail "$ROUND: did not start"
gso_round 10.0.2.2 7107 127.0.0.1
gso_round 192.0.2.254 7108 192.0.2.254 nsenter --target "$PEER_PID" --net --
one_frame_per_write
stop_slirp
ip link set dev s4n-h mtu 1500
in_peer ip link set dev s4n-p mtu 1500

ROUND=slirp
SENT=0
start_slirp -c -6 --udp-path=slirp -a "$SOCK" "$GUEST_PID" tap0 || fail "--udp-path=slirp did not start"
wait_until 15 guest_has_ra_address || fail "no usable IPv6 address in the guest"
[ "$(stats_field "$SOCK" udp_path)" = slirp ] || fail "--udp-path=slirp, yet not libslirp's UDP"
gso_round 10.0.2.2 7111 127.0.0.1
gso_round 192.0.2.254 7113 192.0.2.254 nsenter --target "$PEER_PID" --net --
gso_round 2001:db8::fe 7114 2001:db8::fe nsenter --target "$PEER_PID" --net --
one_frame_per_write
stop_slirp
pass "UDP_SEGMENT sends from the guest arrive as GSO frames: sent whole, one by one below the route's MTU (confined too), cut for libslirp and --pcap; every datagram intact"
