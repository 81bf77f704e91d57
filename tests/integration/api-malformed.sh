#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Malformed requests get the matching error reply and never hurt the daemon:
# oversized (4096 bytes and more), just under the limit, truncated, non-UTF-8,
# deeply nested, empty, garbage, and a client that disconnects mid-request.
. "$(dirname "$0")/../lib.sh"

SOCK=$WORK/api.sock
same() { [ "$2" = "$3" ] || fail "$1: expected $3, got '$2'"; }

start_guest
start_slirp -c -a "$SOCK" "$GUEST_PID" tap0 || fail "did not start"

same "4096 bytes" "$(api --repeat "$SOCK" 4096 ' ')" "$(api_bad_request 'too large message')"
same "1 MiB" "$(api --repeat "$SOCK" 1048576 x)" "$(api_bad_request 'too large message')"
# A valid request padded to exactly 4096 bytes is still too large...
pad=$(printf '%*s' $((4096 - 26)) '')
same "valid but 4096 bytes" "$(api "$SOCK" "{\"execute\":\"list_hostfwd\"}$pad")" "$(api_bad_request 'too large message')"
# ...and at 4095 bytes it is served.
pad=$(printf '%*s' $((4095 - 26)) '')
same "valid, 4095 bytes" "$(api "$SOCK" "{\"execute\":\"list_hostfwd\"}$pad")" '{"return":{"entries":[]}}'

same "empty" "$(api "$SOCK" '')" "$(api_bad_request 'cannot parse JSON')"
same "whitespace only" "$(api "$SOCK" '   ')" "$(api_bad_request 'cannot parse JSON')"
same "truncated" "$(api "$SOCK" '{"execute":"list_hos')" "$(api_bad_request 'cannot parse JSON')"
same "truncated object" "$(api "$SOCK" '{"execute":"list_hostfwd"')" "$(api_bad_request 'cannot parse JSON')"
same "trailing garbage" "$(api "$SOCK" '{"execute":"list_hostfwd"} x')" "$(api_bad_request 'cannot parse JSON')"
same "garbage" "$(api "$SOCK" '@#!')" "$(api_bad_request 'cannot parse JSON')"
same "bare number" "$(api "$SOCK" '42')" "$(api_bad_request 'no execute found')"
# {"execute":"<0xff>"} and an overlong encoding of "/" inside a string.
same "non-UTF-8" "$(api --hex "$SOCK" 7b2265786563757465223a22ff227d)" "$(api_bad_request 'cannot parse JSON')"
same "overlong UTF-8" "$(api --hex "$SOCK" 7b2265786563757465223a22c0af227d)" "$(api_bad_request 'cannot parse JSON')"
same "NUL byte" "$(api --hex "$SOCK" 7b00)" "$(api_bad_request 'cannot parse JSON')"
same "deep arrays" "$(api --repeat "$SOCK" 2000 '[')" "$(api_bad_request 'cannot parse JSON')"
deep=$(printf '%.0s[' $(seq 2000))$(printf '%.0s]' $(seq 2000))
same "deep but valid" "$(api "$SOCK" "$deep")" "$(api_bad_request 'no execute found')"
deep=$(printf '%.0s{"a":' $(seq 500))1$(printf '%.0s}' $(seq 500))
same "deep objects" "$(api "$SOCK" "$deep")" "$(api_bad_request 'no execute found')"
same "escaped quote then brace inside a string" "$(api --no-shutdown "$SOCK" '{"execute":"x\"}"}')" "$(api_bad_request 'unknown execute')"

# A client that sends half a request and vanishes costs nothing.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"{\"exec"); s.close()' "$SOCK"
same "still serving" "$(api "$SOCK" '{"execute":"list_hostfwd"}')" '{"return":{"entries":[]}}'
kill -0 "$SLIRP_PID" || fail "daemon died"
stop_slirp
[ "$SLIRP_STATUS" = 0 ] || fail "SIGTERM exit status $SLIRP_STATUS"
pass "oversized, truncated, non-UTF-8, nested, empty requests answered"
