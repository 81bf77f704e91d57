#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# --tcp-path=kernel carries bulk data intact: 1 GiB from the guest to the
# host and 1 GiB back, each ending with a half-close and a SHA-256 compared
# at the far end, and resets both ways; then a slow reader each way (the
# receiver takes 64 KiB every 50 ms for a while, then the rest), where the
# relay must hold the sender back rather than buffer: the daemon's RSS stays
# bounded and every byte arrives. Then the same bulk and resets at MTU
# 65520, where the guest's tap has no offloads. get_stats shows the kernel
# path carried it all, delivered kernel to kernel (the daemon handles next
# to none of the bytes) or, under S4N_TCP_PATH=bridge, copied by the daemon.
# S4N_BULK_BYTES sets the bulk size (the sanitized build may use less).
. "$(dirname "$0")/../lib.sh"
kernel_path_only

PEER=$TESTS_DIR/integration/tcp-peer.py
BYTES=${S4N_BULK_BYTES:-1073741824}  # 1 GiB each way
SLOW_BYTES=$((256 << 20))            # what a slow reader is offered
SLOW=$((4 << 20))                    # how much of it is read slowly (~3 s)

background python3 "$PEER" server 9000 >"$WORK/server.log" 2>&1
wait_until 10 port_is_listening 9000 || fail "test server did not start"
start_guest
start_slirp -c -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
expect_not "no fallback line" grep -q "unavailable" "$WORK/slirp.log"
sock=$WORK/api.sock

# downloads_ok N: the host side has logged N matching download checksums.
downloads_ok() { [ "$(grep -c "download ok" "$WORK/server.log")" -ge "$1" ]; }

# resets LABEL: a reset from the guest reaches the host side, and one from
# the host side reaches the guest.
resets() {
    local sent got seen
    seen=$(grep -c '^reset$' "$WORK/server.log")
    sent=$(in_guest timeout 30 python3 "$PEER" client 10.0.2.2 9000 reset)
    [ "$sent" = sent ] || fail "$1: guest reset client: '$sent'"
    wait_until 10 resets_seen "$((seen + 1))" || fail "$1: the host side did not see the guest's reset"
    got=$(in_guest timeout 30 python3 "$PEER" client 10.0.2.2 9000 reset-me)
    [ "$got" = reset ] || fail "$1: the guest saw '$got' where the host reset the connection"
}
resets_seen() { [ "$(grep -c '^reset$' "$WORK/server.log")" -ge "$1" ]; }

# bulk MTU DOWNLOADS: BYTES up and BYTES down with half-closes, checked at
# the far end (DOWNLOADS: the host side's matching download checksums
# expected by then), carried past the daemon as the delivery says; then
# resets both ways. Sets TIMES to "UP s, DOWN s".
bulk() {
    local frames start up down up_s
    frames=$(daemon_frame_bytes "$sock")
    start=$SECONDS
    up=$(in_guest timeout 280 python3 "$PEER" client 10.0.2.2 9000 upload "$BYTES")
    [ "$up" = ok ] || fail "MTU $1: upload of $BYTES bytes with a half-close: '$up'"
    up_s=$((SECONDS - start))
    start=$SECONDS
    down=$(in_guest timeout 280 python3 "$PEER" client 10.0.2.2 9000 download "$BYTES")
    [ "$down" = sent ] || fail "MTU $1: download of $BYTES bytes with the host half-closing: '$down'"
    wait_until 30 downloads_ok "$2" ||
        fail "MTU $1: download of $BYTES bytes: the host side got no matching checksum ($(cat "$WORK/server.log"))"
    TIMES="${up_s} s, $((SECONDS - start)) s"
    log "MTU $1: $BYTES bytes up and down in $TIMES"
    assert_data_path "$sock" "$frames" $((2 * BYTES)) "MTU $1"
    resets "MTU $1"
}

bulk 1500 1
small_times=$TIMES
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
# segment itself, and the kernel (or the daemon, bridging) hands it to the
# private kernel marked as already checksummed. The bytes must still arrive
# intact both ways.
kill "$GUEST_PID"
start_guest
start_slirp -c --mtu=65520 -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start at MTU 65520"
bulk 65520 3
assert_kernel_tcp "$sock" 4
stop_slirp
pass "$BYTES bytes up and down intact with half-closes at MTU 1500 ($small_times) and 65520 ($TIMES), resets both ways, slow readers both ways with RSS bounded, delivered by $(expected_delivery)"
