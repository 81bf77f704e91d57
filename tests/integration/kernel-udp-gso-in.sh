#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The kernel UDP path's replies as GSO frames: runs of datagrams from one
# peer go to the guest as one frame that the guest's kernel cuts. At MTU
# 1500 and 65520, IPv4 and IPv6, from a peer behind a veth: thousands of
# 1200-byte datagrams reach a plain guest socket with a SHA-256 over them
# compared end to end; a sender writing 64 KB with UDP_SEGMENT reaches a
# guest UDP_GRO socket with every datagram whole (1200 bytes each, none
# malformed, no more than were sent), each write passed on whole (more
# datagrams per frame than a recvmmsg batch); get_stats shows frames that
# carried runs. With --pcap the file holds each datagram as its own frame.
. "$(dirname "$0")/../lib.sh"

[ "${S4N_TCP_PATH:-}" = slirp ] && skip "libslirp's UDP sends one frame per datagram"
N=${S4N_UDP_DATAGRAMS:-3000}
peer_network
udp_peer_server 192.0.2.254 7000 nsenter --target "$PEER_PID" --net --
udp_peer_server 2001:db8::fe 7000 nsenter --target "$PEER_PID" --net --

# gso_to_sink HOST [SECONDS]: HOST (the peer) answers the guest's hello
# with SECONDS (2) of 64 KB UDP_SEGMENT writes of 54 datagrams of 1200
# bytes, which a guest UDP_GRO socket counts. The daemon's socket takes
# each write whole (UDP_GRO): more datagrams per GSO frame than a batch of
# recvmmsg (32) holds show it, unless --pcap has them go one by one.
gso_to_sink() {
    local host=$1 seconds=${2:-2} any=0.0.0.0 sent got replies0 frames0 replies frames
    [[ $host == *:* ]] && any=::
    replies0=$(stats_field "$sock" kernel_udp_datagrams_to_guest)
    frames0=$(stats_field "$sock" kernel_udp_gso_frames_to_guest)
    nsenter --target "$PEER_PID" --net -- \
        timeout 120 python3 "$TESTS_DIR/integration/udp-peer.py" gso-answer "$host" 7100 "$seconds" 1200 \
        >"$WORK/sent" &
    local sender=$!
    BACKGROUND_PIDS+=($sender)
    wait_until 10 nsenter --target "$PEER_PID" --net -- sh -c "ss -Hlun | grep -q ':7100 '" ||
        fail "the GSO sender did not start"
    got=$(udp_peer sink "$any" 6000 "$seconds" "$host" 7100)
    wait "$sender"
    sent=$(cat "$WORK/sent")
    replies=$(($(stats_field "$sock" kernel_udp_datagrams_to_guest) - replies0))
    frames=$(($(stats_field "$sock" kernel_udp_gso_frames_to_guest) - frames0))
    log "$host: $sent; $got; $replies replies in $frames GSO frames"
    if [ -z "${GSO_ONE_BY_ONE:-}" ]; then
        [ "$frames" -gt 0 ] && [ "$replies" -gt $((32 * frames)) ] ||
            fail "from $host: $replies replies in $frames GSO frames: the GSO writes did not go on whole"
    fi
    read -r _ sent_n _ <<<"$sent"
    read -r _ got_n got_bytes _ bad <<<"$got"
    [ "${bad:-x}" = 0 ] || fail "from $host: malformed datagrams in the guest: '$got'"
    [ "${got_n:-0}" -gt 0 ] || fail "from $host: nothing reached the guest: '$got'"
    [ "$got_n" -le "${sent_n:-0}" ] || fail "from $host: the guest got $got_n datagrams of $sent_n sent"
    [ "$got_bytes" -eq $((got_n * 1200)) ] ||
        fail "from $host: $got_bytes bytes in $got_n datagrams, not 1200 each"
}

for mtu in 1500 65520; do
    start_guest
    start_slirp -c -6 --mtu="$mtu" -a "$WORK/api.sock" "$GUEST_PID" tap0 ||
        fail "did not start at MTU $mtu"
    sock=$WORK/api.sock
    wait_until 15 guest_has_ra_address || fail "no usable IPv6 address in the guest"
    for host in 192.0.2.254 2001:db8::fe; do
        got=$(udp_peer download "$host" 7000 "$N")
        [ "$got" = ok ] || fail "MTU $mtu: download of $N datagrams from $host: '$got'"
        gso=$(stats_field "$sock" kernel_udp_gso_frames_to_guest)
        [ "$gso" -gt 0 ] || fail "MTU $mtu: no reply from $host went as a GSO frame"
        gso_to_sink "$host"
    done
    assert_kernel_udp "$sock"
    runs=$(stats_field "$sock" kernel_udp_gso_frames_to_guest)
    replies=$(stats_field "$sock" kernel_udp_datagrams_to_guest)
    log "MTU $mtu: $replies replies in $runs GSO frames and the rest one by one"
    [ "$runs" -lt "$replies" ] || fail "MTU $mtu: $runs GSO frames for $replies replies"
    stop_slirp
    kill "$GUEST_PID" 2>/dev/null
    wait "$GUEST_PID" 2>/dev/null
done

# The capture: each datagram of a run as its own frame.
if command -v tcpdump >/dev/null; then
    start_guest
    start_slirp -c -a "$WORK/api.sock" --pcap="$WORK/udp.pcap" "$GUEST_PID" tap0 || fail "did not start with --pcap"
    got=$(udp_peer download 192.0.2.254 7000 "$N")
    [ "$got" = ok ] || fail "--pcap: download of $N datagrams: '$got'"
    runs=$(stats_field "$WORK/api.sock" kernel_udp_gso_frames_to_guest)
    GSO_ONE_BY_ONE=1 gso_to_sink 192.0.2.254 0.2
    stop_slirp
    [ "$runs" -gt 0 ] || fail "--pcap: no reply went as a GSO frame"
    # -q: port 7000 is not decoded as AFS.
    lengths=$(tcpdump -q -n -r "$WORK/udp.pcap" 'udp and src port 7000' 2>/dev/null |
        grep -o 'length [0-9]*' | sort | uniq -c)
    log "--pcap: $runs GSO frames; datagrams from the peer: $(tr -s ' \n' ' ' <<<"$lengths")"
    full=$(awk '$3 == 1200 { print $1 }' <<<"$lengths")
    [ "${full:-0}" -ge "$N" ] || fail "--pcap: ${full:-0} datagrams of 1200 bytes, not $N"
    awk '$3 > 1200 { exit 1 }' <<<"$lengths" || fail "--pcap: a frame holds more than a datagram: $lengths"
    # The GSO writes, which went one by one.
    lengths=$(tcpdump -q -n -r "$WORK/udp.pcap" 'udp and src port 7100' 2>/dev/null |
        grep -o 'length [0-9]*' | sort | uniq -c)
    log "--pcap: datagrams from the GSO sender: $(tr -s ' \n' ' ' <<<"$lengths")"
    [ -n "$lengths" ] || fail "--pcap: none of the GSO sender's datagrams"
    awk '$3 != 1200 { exit 1 }' <<<"$lengths" || fail "--pcap: the GSO sender's datagrams: $lengths"
else
    log "tcpdump is not installed: the capture was not looked at"
fi
pass "runs of replies as GSO frames, MTU 1500 and 65520, IPv4 and IPv6: intact, whole datagrams, ordinary in the capture"
