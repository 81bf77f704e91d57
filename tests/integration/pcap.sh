#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --pcap=FILE: tcpdump reads from FILE the frames a guest exchanged with the
# daemon, stamped with the wall time: its DHCP lease, ARP for the gateway, a
# DNS query and its answer, and a TCP connection to the gateway, handshake
# and data (the kernel TCP path carries it by default; libslirp under
# S4N_TCP_PATH=slirp). The handshake is in the file while the daemon still
# runs. The same holds confined by --enable-sandbox --enable-seccomp. A
# capture onto a full file system (confined too) stops with one logged
# line, and the guest's traffic goes on unharmed.
. "$(dirname "$0")/../lib.sh"

command -v tcpdump >/dev/null || skip "tcpdump is not installed (tests/install-deps.sh installs it)"
# With --pcap the kernel TCP path bridges (so that every segment is
# captured) unless a run forces kernel to kernel.
[ "${S4N_TCP_PATH:-}" = redirect ] || export S4N_TCP_DELIVERY=bridge

private_dns pcap.test 127.3.4.5
http_server 8000
head -c 4M /dev/urandom >"$WORK/www/big"

# frames FILE [TCPDUMP ARGS...]: tcpdump's lines for the frames in FILE.
frames() {
    local file=$1
    shift
    tcpdump -n -r "$file" "$@" 2>/dev/null
}

# shows TEXT PATTERN: fails the test unless a line of TEXT (tcpdump's
# output) matches PATTERN (extended regex).
shows() {
    grep -qE "$2" <<<"$1" || fail "$ROUND: the capture has no frame matching '$2'"
}

# line_of TEXT PATTERN: the number of the first line of TEXT matching PATTERN.
line_of() { grep -n -m 1 -E "$2" <<<"$1" | cut -d: -f1; }

# capture_round FLAGS...: a daemon with --pcap and FLAGS, the guest's
# traffic, and what tcpdump reads from the capture.
capture_round() {
    local cap=$WORK/capture.pcap started lease answer body dhcp arp dns tcp syn synack ack first
    local message
    ROUND="--pcap${*:+ $*}"
    started=$(date +%s)
    start_guest
    start_slirp --pcap "$cap" -a "$WORK/api.sock" "$@" "$GUEST_PID" tap0 ||
        fail "$ROUND: did not start"
    lease=$(guest_dhcp)
    grep -q "ip=10.0.2.15 router=10.0.2.2 dns=10.0.2.3" <<<"$lease" || fail "$ROUND: $lease"
    answer=$(dns_lookup pcap.test 10.0.2.3)
    [ "$answer" = 127.3.4.5 ] || fail "$ROUND: pcap.test resolved to '$answer'"
    body=$(in_guest curl -s -m 10 http://10.0.2.2:8000/)
    [ "$body" = "hello from host" ] || fail "$ROUND: HTTP to 10.0.2.2:8000 returned '$body'"
    assert_kernel_tcp "$WORK/api.sock"
    # Read while the daemon runs: buffered frames reach the file soon (the
    # bound only guards a hang).
    handshake_seen() { frames "$cap" 'tcp port 8000' | grep -q 'Flags \[S\.\]'; }
    wait_until 10 handshake_seen || fail "$ROUND: while the daemon runs, the file lacks the SYN-ACK"
    stop_slirp
    [ "$SLIRP_STATUS" = 0 ] || fail "$ROUND: exit status $SLIRP_STATUS"

    dhcp=$(frames "$cap" -v 'udp port 67 or udp port 68')
    for message in Discover Offer Request ACK; do
        grep -q "DHCP-Message (53), length 1: $message" <<<"$dhcp" ||
            fail "$ROUND: no DHCP $message in the capture"
    done
    arp=$(frames "$cap" arp)
    shows "$arp" 'Request who-has 10\.0\.2\.2 tell 10\.0\.2\.15'
    shows "$arp" 'Reply 10\.0\.2\.2 is-at 52:55:0a:00:02:02'
    dns=$(frames "$cap" 'udp port 53')
    shows "$dns" '10\.0\.2\.15\.[0-9]+ > 10\.0\.2\.3\.53: .* A\? pcap\.test\.'
    shows "$dns" '10\.0\.2\.3\.53 > 10\.0\.2\.15\.[0-9]+: .* A 127\.3\.4\.5'
    tcp=$(frames "$cap" -A 'tcp port 8000')
    shows "$tcp" 'hello from host'
    syn=$(line_of "$tcp" '10\.0\.2\.15\.[0-9]+ > 10\.0\.2\.2\.8000: Flags \[S\]')
    synack=$(line_of "$tcp" '10\.0\.2\.2\.8000 > 10\.0\.2\.15\.[0-9]+: Flags \[S\.\]')
    ack=$(line_of "$tcp" '10\.0\.2\.15\.[0-9]+ > 10\.0\.2\.2\.8000: Flags \[\.\]')
    [ -n "$syn" ] && [ -n "$synack" ] && [ -n "$ack" ] && [ "$syn" -lt "$synack" ] &&
        [ "$synack" -lt "$ack" ] ||
        fail "$ROUND: no handshake in order (SYN at line '$syn', SYN-ACK '$synack', ACK '$ack')"
    first=$(frames "$cap" -tt -c 1 | cut -d. -f1)
    [ "$first" -ge "$started" ] && [ "$first" -le "$(date +%s)" ] ||
        fail "$ROUND: the first frame is stamped $first, not between $started and now"
    log "$ROUND: $(frames "$cap" | wc -l) frames: DHCP, ARP, DNS and a TCP handshake"
}

capture_round
capture_round --enable-sandbox --enable-seccomp

# A file system that fills at once: 64 KiB for a capture of more than 8 MiB.
mkdir "$WORK/small"
mount -t tmpfs -o size=64k tmpfs "$WORK/small"
start_guest
# Confined: what ends the capture is still the disk, not the filter.
start_slirp -c --pcap="$WORK/small/capture.pcap" --enable-sandbox --enable-seccomp \
    -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start with a capture on a 64 KiB tmpfs"
for round in 1 2; do
    got=$(in_guest curl -s -m 60 -o /dev/null -w '%{size_download}' http://10.0.2.2:8000/big)
    [ "$got" = 4194304 ] || fail "download $round with the capture's disk full got '$got' bytes"
done
kill -0 "$SLIRP_PID" 2>/dev/null || fail "the daemon died when its capture's disk filled"
assert_kernel_tcp "$WORK/api.sock"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS after the capture's disk filled"
stopped=$(grep -c "packet capture" "$WORK/slirp.log")
[ "$stopped" = 1 ] || fail "$stopped lines about the capture in the log, not one"
grep -q "No space left on device" "$WORK/slirp.log" || fail "the log does not name the full disk"
handshakes=$(frames "$WORK/small/capture.pcap" 'tcp[tcpflags] == tcp-syn' | wc -l)
[ "$handshakes" -ge 1 ] || fail "the filled capture holds no SYN"
log "full disk: $(grep "packet capture" "$WORK/slirp.log")"
umount "$WORK/small"
pass "DHCP, ARP, DNS and a TCP handshake captured (sandboxed and seccomp'd too); a full disk stopped only the capture"
