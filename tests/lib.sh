# tests/lib.sh: the one shared helper for integration tests. Source it first:
#
#   . "$(dirname "$0")/../lib.sh"     # re-runs the test inside a fresh host
#                                       # network + mount namespace
#   start_guest                         # a target network namespace (GUEST_PID)
#   start_slirp -c "$GUEST_PID" tap0   # our daemon, waited on via ready-fd
#   in_guest curl http://10.0.2.2:8000/
#   pass "what was shown"               # or fail / skip
#
# Hermetic by construction: the "host" side of slirp4netns is a network
# namespace this file creates, holding only loopback (plus what a test adds),
# and /etc/resolv.conf is private to the test's mount namespace.

set -u

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$TESTS_DIR/.." && pwd)
SLIRP=${SLIRP:-$REPO/slirp4netns}
TEST_NAME=$(basename "$0" .sh)

if [ -z "${S4N_IN_HOST_NS:-}" ]; then
    export S4N_IN_HOST_NS=1
    exec unshare --net --mount --propagation private bash "$0" "$@"
fi

ip link set lo up
WORK=$(mktemp -d "/tmp/s4n-$TEST_NAME.XXXXXX")
chmod 755 "$WORK"
BACKGROUND_PIDS=()

cleanup() {
    local pid
    for pid in "${BACKGROUND_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${BACKGROUND_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "# $*" >&2; }
pass() {
    echo "PASS: $TEST_NAME${1:+: $1}"
    exit 0
}
fail() {
    echo "FAIL: $TEST_NAME: $*"
    if [ -s "$WORK/slirp.log" ]; then
        echo "--- slirp4netns output ---"
        tail -n 30 "$WORK/slirp.log"
    fi
    exit 1
}
skip() {
    echo "SKIP: $TEST_NAME: $*"
    exit 77
}

# expect DESCRIPTION COMMAND...: fails the test unless COMMAND succeeds.
expect() {
    local what=$1
    shift
    "$@" || fail "$what (command: $*)"
}

# expect_not DESCRIPTION COMMAND...: fails the test if COMMAND succeeds.
expect_not() {
    local what=$1
    shift
    if "$@"; then fail "$what (unexpectedly succeeded: $*)"; fi
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.1
    done
}

background() {
    "$@" &
    BACKGROUND_PIDS+=($!)
}

# start_guest [unshare options]: a process sitting in a new network namespace.
# Sets GUEST_PID. The guest's own loopback is brought up.
start_guest() {
    unshare --net "$@" sh -c 'ip link set lo up; exec sleep 1000' &
    GUEST_PID=$!
    BACKGROUND_PIDS+=($GUEST_PID)
    wait_until 5 guest_has_own_netns || fail "guest namespace did not appear"
}

guest_has_own_netns() {
    local theirs
    theirs=$(readlink "/proc/$GUEST_PID/ns/net") || return 1
    [ "$theirs" != "$(readlink /proc/self/ns/net)" ]
}

# in_guest COMMAND...: runs COMMAND in the guest's network namespace (and its
# user namespace, when it has its own).
in_guest() {
    if [ "$(readlink /proc/$GUEST_PID/ns/user)" != "$(readlink /proc/self/ns/user)" ]; then
        nsenter --target "$GUEST_PID" --net --user --preserve-credentials -- "$@"
    else
        nsenter --target "$GUEST_PID" --net -- "$@"
    fi
}

# start_slirp ARGS...: runs our daemon with a ready-fd and waits until it is
# ready. Sets SLIRP_PID; output goes to $WORK/slirp.log. Returns non-zero if
# it exits before becoming ready.
start_slirp() {
    rm -f "$WORK/ready"
    mkfifo "$WORK/ready"
    "$SLIRP" --ready-fd=9 "$@" 9>"$WORK/ready" >"$WORK/slirp.log" 2>&1 &
    SLIRP_PID=$!
    BACKGROUND_PIDS+=($SLIRP_PID)
    local ready
    ready=$(timeout 10 cat "$WORK/ready")
    [ "$ready" = 1 ] || {
        log "slirp4netns did not become ready (got '$ready')"
        return 1
    }
}

# stop_slirp: SIGTERM and wait; sets SLIRP_STATUS.
stop_slirp() {
    kill -TERM "$SLIRP_PID" 2>/dev/null
    wait "$SLIRP_PID"
    SLIRP_STATUS=$?
}

# http_server PORT [ADDRESS]: a tiny HTTP server on the host side that
# answers every GET with "hello from host".
http_server() {
    local port=$1 address=${2:-127.0.0.1}
    mkdir -p "$WORK/www"
    echo "hello from host" >"$WORK/www/index.html"
    background python3 -m http.server "$port" --bind "$address" --directory "$WORK/www" \
        >/dev/null 2>&1
    wait_until 10 port_is_listening "$port" || fail "http server on $address:$port did not start"
}

port_is_listening() { ss -Hltn "sport = :$1" | grep -q .; }

# private_dns NAME ADDRESS: a resolver on the host side's 127.0.0.1:53 that
# knows NAME, and a private /etc/resolv.conf pointing at it.
private_dns() {
    echo "nameserver 127.0.0.1" >"$WORK/resolv.conf"
    mount --bind "$WORK/resolv.conf" /etc/resolv.conf
    background dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
        --listen-address=127.0.0.1 --port=53 --user=root --pid-file="$WORK/dnsmasq.pid" \
        --address="/$1/$2" --log-facility=- 2>/dev/null
    wait_until 10 sh -c 'ss -Hlun "sport = :53" | grep -q .' || fail "dnsmasq did not start"
}

# test_user: an unprivileged user with subordinate ids, for the rootless path.
TEST_USER=s4ntest
ensure_test_user() {
    (
        flock 9
        id "$TEST_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$TEST_USER"
        grep -q "^$TEST_USER:" /etc/subuid || echo "$TEST_USER:200000:65536" >>/etc/subuid
        grep -q "^$TEST_USER:" /etc/subgid || echo "$TEST_USER:200000:65536" >>/etc/subgid
    ) 9>/tmp/s4n-user.lock
}

# world_usable_tun: /dev/net/tun as real distributions ship it (0666), in this
# test's mount namespace only; the machine's own node is not touched.
world_usable_tun() {
    mount -t tmpfs -o mode=755 s4n-dev-net /dev/net
    mknod -m 666 /dev/net/tun c 10 200
}

# as_test_user COMMAND...: runs COMMAND as the unprivileged test user.
as_test_user() {
    setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env -- "$@"
}
