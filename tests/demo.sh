#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/demo.sh (make demo): shows slirp4netns at work, hermetically. The
# "host" is a network namespace of the demo's own (tests/lib.sh) with a web
# server on its loopback; nothing leaves the machine.
#   1. a new network namespace (the guest), connected by slirp4netns -c
#   2. its addresses and routes
#   3. the guest fetches the host's page through the gateway 10.0.2.2
#   4. a server in the guest is published on the host through the API socket
#   5. a summary
. "$(dirname "$0")/lib.sh"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
# guest COMMAND...: prints and runs COMMAND inside the guest namespace.
guest() {
    printf '(guest)$ %s\n' "$*"
    in_guest "$@"
}
# host COMMAND...: prints and runs COMMAND on the host side.
host() {
    printf '(host)$ %s\n' "$*"
    "$@"
}
steps=()
done_step() { steps+=("ok  $*"); }

[ -x "$SLIRP" ] || fail "$SLIRP is missing: run 'make' first"
say "slirp4netns under test: $SLIRP"
"$SLIRP" --version | head -n 1

http_server 8000
echo "hello from the host's loopback" >"$WORK/www/index.html"
say "1. A new network namespace, connected"
start_guest
echo "guest: pid $GUEST_PID, in its own network namespace"
api=$WORK/api.sock
printf '(host)$ slirp4netns --configure --mtu=65520 --api-socket %s %s tap0\n' "$api" "$GUEST_PID"
start_slirp --configure --mtu=65520 --api-socket "$api" "$GUEST_PID" tap0 || fail "slirp4netns did not start"
sed 's/^/  /' "$WORK/slirp.log"
done_step "namespace $GUEST_PID connected (tap0)"

say "2. The guest's addresses and routes"
guest ip -br addr
guest ip route
in_guest ip -o -4 addr show dev tap0 | grep -q "inet 10.0.2.100/24" || fail "tap0 has no 10.0.2.100/24"
done_step "tap0 is 10.0.2.100/24, default route via 10.0.2.2"

say "3. The guest fetches a page from the host's loopback through 10.0.2.2"
guest curl -s -m 10 http://10.0.2.2:8000/ | tee "$WORK/page" || fail "fetch failed"
page=$(cat "$WORK/page")
grep -qx "hello from the host's loopback" <<<"$page" || fail "unexpected page: $page"
done_step "guest -> host: http://10.0.2.2:8000/ answered"

say "4. A server in the guest, published on the host through the API"
mkdir -p "$WORK/guest-www"
echo "hello from inside the namespace" >"$WORK/guest-www/index.html"
background nsenter --target "$GUEST_PID" --net busybox httpd -f -p 80 -h "$WORK/guest-www"
wait_until 10 sh -c "nsenter --target $GUEST_PID --net ss -Hltn 'sport = :80' | grep -q ." ||
    fail "guest web server did not start"
# api_call JSON: prints the request, sends it, prints the reply (also left
# in $WORK/reply).
api_call() {
    printf "(host)\$ echo '%s' | socat - UNIX-CONNECT:%s\n" "$1" "$api"
    echo "$1" | socat -t 5 - "UNIX-CONNECT:$api" >"$WORK/reply"
    cat "$WORK/reply"
    echo
}
api_call '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":8080,"guest_port":80}}'
grep -q '"return":{"id":[0-9]*}' "$WORK/reply" || fail "add_hostfwd failed: $(cat "$WORK/reply")"
api_call '{"execute":"list_hostfwd"}'
host curl -s -m 10 http://127.0.0.1:8080/ | tee "$WORK/page" || fail "the published port did not answer"
page=$(cat "$WORK/page")
grep -qx "hello from inside the namespace" <<<"$page" || fail "unexpected page: $page"
done_step "host -> guest: 127.0.0.1:8080 published through the API answered"
api_call '{"execute":"get_stats"}'
grep -q '"frames_from_guest":[1-9]' "$WORK/reply" || fail "get_stats shows no traffic: $(cat "$WORK/reply")"

say "5. Summary"
printf '  %s\n' "${steps[@]}"
echo "  everything ran inside namespaces of this demo; no traffic left the machine"
stop_slirp
echo "slirp4netns exited with status $SLIRP_STATUS on SIGTERM"
