#!/bin/bash
# Every bad input exits non-zero with exactly one line on stderr naming the
# problem, nothing on stdout, and leaves no tap behind.
. "$(dirname "$0")/../lib.sh"

start_guest
long_path=/tmp/$(printf 'a%.0s' $(seq 1 120))
checked=0

# rejects NEEDLE ARGS...: runs the daemon with ARGS and checks the rejection.
rejects() {
    local needle=$1
    shift
    timeout 10 "$SLIRP" "$@" >"$WORK/out" 2>"$WORK/err"
    local status=$?
    local what="slirp4netns $*"
    [ "$status" != 0 ] || fail "$what: exit status 0"
    [ "$status" != 124 ] || fail "$what: did not exit within 10 s"
    [ ! -s "$WORK/out" ] || fail "$what: wrote to stdout: $(head -c 200 "$WORK/out")"
    [ "$(wc -l <"$WORK/err")" = 1 ] || fail "$what: stderr is not one line: $(cat "$WORK/err")"
    grep -qF -- "$needle" "$WORK/err" || fail "$what: '$(cat "$WORK/err")' does not say '$needle'"
    checked=$((checked + 1))
}

G=$GUEST_PID
rejects "MTU must be a positive integer, got \"abc\"" --mtu=abc "$G"
rejects "MTU must be between 68 and 65521, got 0" --mtu=0 "$G"
rejects "MTU must be between 68 and 65521, got 67" -m 67 "$G"
rejects "MTU must be between 68 and 65521, got 65522" --mtu=65522 "$G"
rejects "IPv6 needs an MTU of at least 1280" -6 --mtu=1279 "$G"
rejects "invalid CIDR \"10.0.2.0\"" --cidr=10.0.2.0 "$G"
rejects "invalid CIDR \"10.0.2/24\"" --cidr=10.0.2/24 "$G"
rejects "prefix length must be between 1 and 25" --cidr=10.0.2.0/26 "$G"
rejects "prefix length must be between 1 and 25" --cidr=10.0.2.0/0 "$G"
rejects "prefix length must be a number" --cidr=10.0.2.0/x "$G"
rejects "invalid MAC address \"02:00:00:00:00\"" -c --macaddress=02:00:00:00:00 "$G"
rejects "invalid MAC address \"zz:00:00:00:00:01\"" -c --macaddress=zz:00:00:00:00:01 "$G"
rejects "invalid MAC address \"01:00:5e:00:00:01\"" -c --macaddress=01:00:5e:00:00:01 "$G"
rejects "--macaddress requires --configure" --macaddress=02:00:00:00:00:01 "$G"
rejects "unknown netns-type \"netns\"" --netns-type=netns "$G"
rejects "unknown target-type \"tap\"" --target-type=tap "$G"
rejects "missing PID, PATH or FD" -c
rejects "missing PID, PATH or FD" --netns-type=path
rejects "PID must be a positive integer, got \"abc\"" abc
rejects "no process with PID 1073741823" 1073741823
rejects "cannot open network namespace \"$WORK/no-such-netns\"" --netns-type=path "$WORK/no-such-netns"
rejects "cannot open user namespace \"$WORK/no-such-userns\"" --userns-path="$WORK/no-such-userns" "$G"
rejects "exit-fd must be a non-negative integer, got \"abc\"" -e abc "$G"
rejects "ready-fd must be a non-negative integer, got \"-1\"" --ready-fd=-1 "$G"
rejects "exit-fd 77 is not open" --exit-fd=77 "$G"
rejects "ready-fd 78 is not open" -r 78 "$G"
rejects "tap FD must be a non-negative integer, got \"x\"" --netns-type=tapfd x
rejects "tap FD 79 is not open" --netns-type=tapfd 79
exec 5</dev/null
rejects "FD 5 is not a tap device" --netns-type=tapfd 5
exec 5<&-
rejects "--configure cannot be used with --netns-type=tapfd" --netns-type=tapfd -c 0
rejects "unknown or ambiguous option \"--bogus\"" --bogus "$G"
rejects "unknown option \"-x\"" -x "$G"
rejects "option \"--mtu\" requires an argument" --mtu
rejects "option \"-e\" requires an argument" -e
rejects "option \"--configure\" does not take an argument" --configure=yes "$G"
rejects "api-socket path is too long" --api-socket="$long_path" "$G"
rejects "too many arguments: unexpected \"extra\"" "$G" tap0 extra
rejects "invalid TAPNAME" "$G" tap-name-far-too-long
rejects "outbound-addr: \"s4n-none\" is neither an address nor an interface" \
    --outbound-addr=s4n-none "$G"
rejects "--configure cannot be used with --target-type=bess" --target-type=bess -c "$WORK/bess"
expect "no tap was left in the guest" test -z "$(in_guest ip -o link show type tun)"
pass "$checked bad inputs rejected with one line each"
