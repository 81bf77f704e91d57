#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# 30 s of bulk TCP through a confined daemon (--enable-sandbox
# --enable-seccomp, MTU 65520 as podman runs it): iperf3 from the guest to a
# server on the host side's loopback via 10.0.2.2, 15 s each way (-R for
# host to guest), with no error, and the daemon still confined and healthy.
. "$(dirname "$0")/../lib.sh"

command -v iperf3 >/dev/null || skip "iperf3 is not installed (make deps)"
iperf3_server 5201
start_guest
start_slirp -c --mtu=65520 --enable-sandbox --enable-seccomp -a "$WORK/api.sock" "$GUEST_PID" tap0 || fail "did not start"
assert_confined "$SLIRP_PID" 0000000000000400

# run_iperf LABEL ARGS...: one 15 s run; prints the receiver's Mbit/s.
run_iperf() {
    local label=$1 out
    shift
    out=$(in_guest timeout 40 iperf3 -c 10.0.2.2 -p 5201 -t 15 -J "$@") ||
        fail "iperf3 $label failed: $(grep -m1 '"error"' <<<"$out")"
    python3 -c '
import json, sys
r = json.loads(sys.argv[1])
if "error" in r:
    sys.exit("iperf3 error: " + r["error"])
bps = r["end"]["sum_received"]["bits_per_second"]
if bps <= 0:
    sys.exit("no data received")
print("%.0f" % (bps / 1e6))' "$out" || fail "iperf3 $label: bad result"
}
up=$(run_iperf "guest to host")
down=$(run_iperf "host to guest" -R)
kill -0 "$SLIRP_PID" 2>/dev/null || fail "daemon died under load"
assert_kernel_tcp "$WORK/api.sock" 4
assert_confined "$SLIRP_PID" 0000000000000400
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "exit status $SLIRP_STATUS"
pass "guest to host $up Mbit/s, host to guest $down Mbit/s, 15 s each"
