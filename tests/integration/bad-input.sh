#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every bad input exits non-zero with exactly one line on stderr naming the
# problem, nothing on stdout, and leaves no tap behind. Differential: what
# Debian's original slirp4netns refuses, ours refuses too, and our line
# carries the original's key phrase (scripts grep for it). Each such case
# also runs against the original, which must still refuse it with that
# phrase, so the phrases here are the original's own. What ours alone
# refuses is listed in the README's "Differences" and checked on ours only.
. "$(dirname "$0")/../lib.sh"

# The original runs against a namespace of its own, from a host namespace of
# its own: some cases get as far as entering the target before failing.
start_guest
OG=$GUEST_PID
start_guest
G=$GUEST_PID
long_path=/tmp/$(printf 'a%.0s' $(seq 1 120))
mkdir "$WORK/a-directory"
checked=0 compared=0

if original=$(original_slirp4netns); then
    log "comparing with $original ($("$original" --version | head -n 1))"
else
    log "comparing with the original is skipped"
fi

# rejects NEEDLE ARGS...: runs our daemon with ARGS and checks the rejection.
rejects() {
    local needle=$1
    shift
    timeout 10 "$SLIRP" "$@" >"$WORK/out" 2>"$WORK/err"
    local status=$?
    local what="slirp4netns $*"
    [ "$status" != 0 ] || fail "$what: exit status 0"
    [ "$status" != 124 ] || fail "$what: did not exit within 10 s"
    # Only the start-up banner may precede a failure (the API socket is
    # opened once the stack is up, as in the original).
    [ ! -s "$WORK/out" ] || [ "$(head -n 1 "$WORK/out")" = "Starting slirp" ] ||
        fail "$what: wrote to stdout: $(head -c 200 "$WORK/out")"
    [ "$(wc -l <"$WORK/err")" = 1 ] || fail "$what: stderr is not one line: $(cat "$WORK/err")"
    grep -qF -- "$needle" "$WORK/err" || fail "$what: '$(cat "$WORK/err")' does not say '$needle'"
    checked=$((checked + 1))
}

# original_refuses PHRASE ARGS...: the original, given ARGS (its own target
# in place of ours), refuses them, saying PHRASE ("" for its bare usage text).
original_refuses() {
    local phrase=$1 arg args=()
    shift
    [ -n "$original" ] || return 0
    for arg in "$@"; do
        [ "$arg" = "$G" ] && arg=$OG
        args+=("$arg")
    done
    unshare --net timeout 10 "$original" "${args[@]}" >"$WORK/orig" 2>&1 </dev/null
    local status=$?
    [ "$status" != 124 ] || fail "the original accepted '${args[*]}' (it ran until killed): not a case of its refusals"
    [ "$status" != 0 ] || fail "the original accepted '${args[*]}' (exit status 0): not a case of its refusals"
    if [ -z "$phrase" ]; then
        grep -q "^Usage:" "$WORK/orig" || fail "the original refused '${args[*]}' without its usage text: $(head -n 3 "$WORK/orig")"
    else
        grep -qF -- "$phrase" "$WORK/orig" ||
            fail "the original refuses '${args[*]}' without saying '$phrase': $(head -n 3 "$WORK/orig")"
    fi
    compared=$((compared + 1))
}

# both_refuse PHRASE ARGS...: the original refuses ARGS saying PHRASE; ours
# refuses them in one line containing PHRASE.
both_refuse() {
    rejects "$@"
    original_refuses "$@"
}

# usage_refused NEEDLE ARGS...: the original answers ARGS with its usage text
# alone; ours says NEEDLE.
usage_refused() {
    local needle=$1
    shift
    rejects "$needle" "$@"
    original_refuses "" "$@"
}

# worded_apart ORIGINAL_PHRASE OUR_NEEDLE ARGS...: both refuse; where the
# original's words would mislead, ours differ (listed in the README).
worded_apart() {
    local theirs=$1 ours=$2
    shift 2
    rejects "$ours" "$@"
    original_refuses "$theirs" "$@"
}

# The network: its shape, its address, its prefix, its host bits.
host_bits="CIDR needs to be a network address like 10.0.2.0/24, not like 10.0.2.100/24"
both_refuse "$host_bits" --cidr 10.0.2.100/24 "$G" tap0
both_refuse "$host_bits" --cidr=10.0.0.0/1 "$G" tap0
both_refuse "$host_bits" --cidr=10.0.2.0/08 "$G" tap0
for cidr in 10.0.2.0 10.0.2/24 10.0.2.0/x 10.0.2.0/024 10.0.2.0/24x 10.0.2.0/ /24 ::1/24 "" " 10.0.2.0/24"; do
    both_refuse "invalid CIDR" --cidr="$cidr" "$G" tap0
done
for cidr in 256.0.0.0/24 010.0.2.0/24 10.0.2.00/24; do
    both_refuse "invalid network address" --cidr="$cidr" "$G" tap0
done
for cidr in 10.0.2.0/26 10.0.2.0/0 10.0.2.0/00 10.0.2.0/32; do
    both_refuse "prefix length needs to be 1-25" --cidr="$cidr" "$G" tap0
done
# IPv6 prefixes: the original refuses every one ("invalid CIDR"), even the
# /64s ours takes; what ours refuses it refuses in the same words.
for cidr in fd00::/48 fd00::/128 fd00::/x fd00:: fd00::1/64 ff02::/64 fe80::/64 ::/64 x:y/64; do
    both_refuse "invalid CIDR" -6 --cidr="$cidr" "$G" tap0
done
worded_apart "invalid CIDR" "is an IPv6 prefix: it needs --enable-ipv6 (-6)" --cidr=fd00::/64 "$G" tap0

# The MTU.
for mtu in abc 0 65522 -5 1500x "" 0x500 99999999999999999999; do
    both_refuse "MTU must be a positive integer (< 65522)" --mtu="$mtu" "$G" tap0
done
both_refuse "MTU must be a positive integer (< 65522)" -m 70000 "$G" tap0

# Options getopt itself refuses, in GNU getopt's words.
both_refuse "unrecognized option" --bogus "$G" tap0
both_refuse "unrecognized option" "$G" tap0 --bogus=3
both_refuse "invalid option" -x "$G" tap0
both_refuse "invalid option" -cx "$G" tap0
both_refuse "invalid option" -1 tap0
both_refuse "is ambiguous" --enable "$G" tap0
both_refuse "is ambiguous" --disable "$G" tap0
for option in -e -r -m -a --exit-fd --ready-fd --mtu --api-socket --cidr --netns-type \
    --userns-path --outbound-addr --outbound-addr6 --macaddress --target-type; do
    both_refuse "requires an argument" "$option"
done
for option in --configure --enable-ipv6 --disable-host-loopback --enable-sandbox \
    --enable-seccomp --disable-dns --conf --version; do
    both_refuse "doesn't allow an argument" "$option=1" "$G" tap0
done

# The target and the tap.
usage_refused "missing PID, PATH or FD"
usage_refused "missing PID, PATH or FD" -c
usage_refused "missing TAPNAME" "$G"
usage_refused "missing TAPNAME" -c --mtu=65520 "$G"
usage_refused "missing PATH of the BESS socket" --target-type=bess
for pid in abc 0 "${G}x" /proc/self/ns/net; do
    both_refuse "PID must be a positive integer" "$pid" tap0
done
both_refuse "PID must be a positive integer" --netns-type=pid "/proc/$G/ns/net" tap0
both_refuse "No such file or directory" 1073741823 tap0
rejects "no process with PID 1073741823" 1073741823 tap0
both_refuse "existing path expected when --netns-type=path" --netns-type=path "$WORK/no-such-netns" tap0
both_refuse "existing path expected when --netns-type=path" --netns-type=path "" tap0
worded_apart "existing path expected when --netns-type=path" "unknown netns-type \"netns\"" \
    --netns-type=netns "$G" tap0
worded_apart "existing path expected when --netns-type=path" "unknown netns-type \"\"" \
    --netns-type= "$G" tap0
both_refuse "userns path doesn't exist" --userns-path="$WORK/no-such-userns" "$G" tap0
both_refuse "userns path doesn't exist" --userns-path= "$G" tap0

# BESS mode.
both_refuse "--target-type must be either \"netns\" or \"bess\"" --target-type=tap "$G" tap0
both_refuse "--target-type must be either \"netns\" or \"bess\"" --target-type= "$G" tap0
both_refuse "too many arguments" --target-type=bess "$WORK/bess.sock" tap0
both_refuse "--configure conflicts with --target-type=bess" --target-type=bess -c "$WORK/bess.sock"
both_refuse "--netns-type conflicts with --target-type=bess" --target-type=bess --netns-type=path "$WORK/bess.sock"
both_refuse "--userns-path conflicts with --target-type=bess" --target-type=bess \
    --userns-path=/proc/self/ns/user "$WORK/bess.sock"
both_refuse "BESS socket path is too long" --target-type=bess "$long_path"
both_refuse "No such file or directory" --target-type=bess "$WORK/no-such-dir/bess.sock"
both_refuse "Address already in use" --target-type=bess "$WORK/a-directory"

# The MAC address.
no_configure="cannot be specified when --configure or -c is not specified"
both_refuse "$no_configure" --macaddress=02:00:00:00:00:01 "$G" tap0
both_refuse "$no_configure" --target-type=bess --macaddress=02:00:00:00:00:01 "$WORK/bess.sock"
for mac in zz:00:00:00:00:01 02:00:00:00:00:01:02 ""; do
    both_refuse "is an invalid MAC address" -c --macaddress="$mac" "$G" tap0
done
for mac in 01:00:5e:00:00:01 ff:ff:ff:ff:ff:ff 00:00:00:00:00:00; do
    both_refuse "cannot set MAC address" -c --macaddress="$mac" "$G" tap0
done

# Outbound addresses. The original's own line for --outbound-addr6 names
# IPv4 and misspells "interface"; its common words are the key phrase.
for addr in s4n-none 256.1.1.1 "" ::1; do
    both_refuse "outbound-addr has to be valid ipv4 address or interface name" --outbound-addr="$addr" "$G" tap0
done
for addr in 127.0.0.1 s4n-none ""; do
    both_refuse "has to be valid" --outbound-addr6="$addr" "$G" tap0
done

# The API socket and the descriptors.
both_refuse "API socket path is too long" --api-socket="$long_path" "$G" tap0
both_refuse "No such file or directory" -a "$WORK/no-such-dir/api.sock" "$G" tap0
both_refuse "Address already in use" -a "$WORK/a-directory" "$G" tap0
for fd in abc -1 3x; do
    both_refuse "exit-fd must be a non-negative integer" -e "$fd" "$G" tap0
done
both_refuse "ready-fd must be a non-negative integer" -r abc "$G" tap0
both_refuse "ready-fd must be a non-negative integer" --ready-fd=-1 "$G" tap0

# Ours alone (README, "Differences"): the original accepts these or fails
# only later, so it is not run with them.
rejects "MTU must be between 68 and 65521, got 67" -m 67 "$G" tap0
rejects "MTU must be between 68 and 65521, got 1" --mtu=1 "$G" tap0
rejects "MTU must be a positive integer (< 65522), got \" 1500\"" "--mtu= 1500" "$G" tap0
rejects "IPv6 needs an MTU of at least 1280" -6 --mtu=1279 "$G" tap0
rejects "is an invalid MAC address" -c --macaddress=02:00:00:00:00 "$G" tap0
rejects "is an invalid MAC address" -c --macaddress=02-00-00-00-00-01 "$G" tap0
rejects "PID must be a positive integer, got \"99999999999\"" 99999999999 tap0
rejects "exit-fd must be a non-negative integer, got \"\"" -e "" "$G" tap0
rejects "exit-fd 77 is not open" --exit-fd=77 "$G" tap0
rejects "ready-fd 78 is not open" -r 78 "$G" tap0
rejects "api-socket path must not be empty" --api-socket= "$G" tap0
rejects "too many arguments: unexpected \"extra\"" "$G" tap0 extra
rejects "invalid TAPNAME" "$G" tap-name-far-too-long
rejects "invalid TAPNAME" "$G" a/b
rejects "invalid TAPNAME" "$G" ""
rejects "cannot join the target's user namespace" --userns-path=/etc/passwd "$G" tap0
touch "$WORK/a-file"
rejects "refusing to replace \"$WORK/a-file\": it exists and is not a socket" -a "$WORK/a-file" "$G" tap0
[ -f "$WORK/a-file" ] || fail "a regular file in the API socket's place was removed"
# Our own options and target types.
rejects "tap FD must be a non-negative integer, got \"x\"" --netns-type=tapfd x
rejects "tap FD 79 is not open" --netns-type=tapfd 79
exec 5</dev/null
rejects "FD 5 is not a tap device" --netns-type=tapfd 5
exec 5<&-
rejects "--configure cannot be used with --netns-type=tapfd" --netns-type=tapfd -c 0
rejects "unknown port-forward-mode \"kernel\"" --port-forward-mode=kernel "$G" tap0
rejects "invalid busy-poll \"fast\"" --busy-poll=fast "$G" tap0
rejects "unknown udp-path \"fast\" (expected kernel, tap or slirp)" --udp-path=fast "$G" tap0
# The original takes the last of several --cidr; ours one per family.
rejects "an IPv4 network is already given" --cidr=10.0.3.0/24 --cidr=10.0.4.0/24 "$G" tap0
rejects "an IPv6 prefix is already given" -6 --cidr=fd01::/64 --cidr=fd02::/64 "$G" tap0
rejects "--pcap needs a file name" --pcap= "$G" tap0
rejects "cannot open packet capture file \"$WORK/no-such-dir/c.pcap\": No such file or directory" \
    --pcap="$WORK/no-such-dir/c.pcap" "$G" tap0
rejects "cannot open packet capture file \"$WORK/a-directory\": Is a directory" \
    --pcap "$WORK/a-directory" "$G" tap0
rejects "cannot write packet capture file \"/dev/full\": No space left on device" \
    --pcap=/dev/full "$G" tap0

expect "no tap was left in the guest" test -z "$(in_guest ip -o link show type tun)"
if [ -n "$original" ]; then
    pass "$checked bad inputs rejected with one line each; $compared refused by the original too, with the same key phrase"
fi
pass "$checked bad inputs rejected with one line each (not compared: no original slirp4netns here)"
