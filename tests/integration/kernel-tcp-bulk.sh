#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --tcp-path=kernel carries bulk data intact: 1 GiB from the guest to the
# host and 1 GiB back, each ending with a half-close and a SHA-256 compared
# at the far end; then a slow reader each way (the receiver takes 64 KiB
# every 50 ms for a while, then the rest), where the relay must hold the
# sender back rather than buffer: the daemon's RSS stays bounded and every
# byte arrives. Then a quarter of the bulk each way at MTU 65520, where the
# guest's tap has no offloads. get_stats shows the kernel path carried it all.
# S4N_BULK_BYTES sets the bulk size (the sanitized build may use less).
. "$(dirname "$0")/../lib.sh"
unset S4N_TCP_PATH

PEER=$TESTS_DIR/integration/tcp-peer.py
BYTES=${S4N_BULK_BYTES:-1073741824}  # 1 GiB each way
SLOW_BYTES=$((256 << 20))            # what a slow reader is offered
SLOW=$((4 << 20))                    # how much of it is read slowly (~3 s)

background python3 "$PEER" server 9000 >"$WORK/server.log" 2>&1
wait_until 10 port_is_listening 9000 || fail "test server did not start"
start_guest
start_slirp -c --tcp-path=kernel -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
expect_not "no fallback line" grep -q "kernel TCP path unavailable" "$WORK/slirp.log"
sock=$WORK/api.sock

# downloads_ok N: the host side has logged N matching download checksums.
downloads_ok() { [ "$(grep -c "download ok" "$WORK/server.log")" -ge "$1" ]; }

start=$SECONDS
up=$(in_guest timeout 280 python3 "$PEER" client 10.0.2.2 9000 upload "$BYTES")
[ "$up" = ok ] || fail "upload of $BYTES bytes with a half-close: '$up'"
up_s=$((SECONDS - start))
start=$SECONDS
down=$(in_guest timeout 280 python3 "$PEER" client 10.0.2.2 9000 download "$BYTES")
[ "$down" = sent ] || fail "download of $BYTES bytes with the host half-closing: '$down'"
wait_until 30 downloads_ok 1 ||
    fail "download of $BYTES bytes: the host side got no matching checksum ($(cat "$WORK/server.log"))"
down_s=$((SECONDS - start))
log "$BYTES bytes up in ${up_s} s, down in ${down_s} s"
from=$(stats_field "$sock" kernel_tcp_bytes_from_guest)
to=$(stats_field "$sock" kernel_tcp_bytes_to_guest)
[ "$from" -ge "$BYTES" ] && [ "$to" -ge "$BYTES" ] ||
    fail "get_stats counts $from bytes from and $to to the guest, expected >= $BYTES each"
assert_kernel_tcp "$sock" 2

# slow_transfer MODE: one transfer with a slow reader (host side for an
# upload, guest side for a download) while the daemon's RSS is watched.
slow_transfer() {
    local rss_before client
    rss_before=$(proc_rss_kib "$SLIRP_PID")
    in_guest timeout 280 python3 "$PEER" client 10.0.2.2 9000 "$1" "$SLOW_BYTES" "$SLOW" \
        >"$WORK/slow-$1.out" 2>&1 &
    client=$!
    BACKGROUND_PIDS+=($client)
    peak_while "$client"
    wait "$client"
    log "slow $1: RSS $rss_before -> peak $PEAK_RSS_KIB KiB over $SAMPLES samples"
    # Buffering what the sender offers instead of holding it back would take
    # about SLOW_BYTES (256 MiB); the socket buffers stay in the kernel.
    [ "$PEAK_RSS_KIB" -le $((rss_before + 65536)) ] ||
        fail "slow $1: the daemon's RSS grew from $rss_before to $PEAK_RSS_KIB KiB"
}
slow_transfer upload
[ "$(cat "$WORK/slow-upload.out")" = ok ] ||
    fail "upload to a slow host reader: '$(cat "$WORK/slow-upload.out")'"
slow_transfer download
[ "$(cat "$WORK/slow-download.out")" = sent ] ||
    fail "download to a slow guest reader: '$(cat "$WORK/slow-download.out")'"
wait_until 30 downloads_ok 2 ||
    fail "download to a slow guest reader: the host side got no matching checksum ($(cat "$WORK/server.log"))"
assert_kernel_tcp "$sock" 4
from2=$(stats_field "$sock" kernel_tcp_bytes_from_guest)
to2=$(stats_field "$sock" kernel_tcp_bytes_to_guest)
[ $((from2 - from)) -ge "$SLOW_BYTES" ] && [ $((to2 - to)) -ge "$SLOW_BYTES" ] ||
    fail "get_stats counts $((from2 - from)) and $((to2 - to)) bytes for the slow transfers"
stop_slirp

# At podman's MTU the guest's tap has no offloads: the guest checksums every
# segment itself, and the daemon hands it to the private kernel marked as
# already checksummed. The bytes must still arrive intact both ways.
BIG=$((BYTES / 4))
kill "$GUEST_PID"
start_guest
start_slirp -c --tcp-path=kernel --mtu=65520 -a "$WORK/api.sock" "$GUEST_PID" tap0 ||
    fail "did not start at MTU 65520"
up=$(in_guest timeout 280 python3 "$PEER" client 10.0.2.2 9000 upload "$BIG")
[ "$up" = ok ] || fail "MTU 65520: upload of $BIG bytes: '$up'"
down=$(in_guest timeout 280 python3 "$PEER" client 10.0.2.2 9000 download "$BIG")
[ "$down" = sent ] || fail "MTU 65520: download of $BIG bytes: '$down'"
wait_until 30 downloads_ok 3 ||
    fail "MTU 65520: download of $BIG bytes: the host side got no matching checksum ($(cat "$WORK/server.log"))"
assert_kernel_tcp "$sock" 2
stop_slirp
pass "$BYTES bytes up (${up_s} s) and down (${down_s} s) intact with half-closes; slow readers both ways, RSS bounded; $BIG bytes each way at MTU 65520"
