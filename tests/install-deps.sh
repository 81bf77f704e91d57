#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# install-deps.sh [GROUP...]: installs the Debian packages a group of make
# targets needs, skipping the ones already present, in one apt-get run.
#   build  compiling ./slirp4netns (what `make` needs; `make` runs this first)
#   demo   `make demo` on top of build
#   test   `make check` (unit and integration tests, real clients,
#          sanitizers, memcheck) on top of build, demo and fresh
#   fresh  `make check-fresh` (a minimal Debian root, built by mmdebstrap)
#   deb    `make deb` on top of build
#   all    every group (the default; `make deps`)
# `make bench` installs its own peers and measuring tools (bench/run.sh).
set -euo pipefail

build=(g++ make autoconf automake pkg-config libslirp-dev libseccomp-dev libcap-dev
    libglib2.0-dev nlohmann-json3-dev libpcap-dev libcmocka-dev libc-ares-dev git)
demo=(iproute2 util-linux procps curl socat python3 busybox-static)
test=(binutils man-db udhcpc dnsmasq-base iperf3 sockperf strace linux-perf libcap2-bin uidmap tcpdump
    # a rootless Docker daemon's NAT inside the namespace (redirect-masquerade)
    iptables
    # real clients (tests/integration/{bess-uml,podman-*,rootlesskit-*}) and
    # Debian's own slirp4netns, which the refusal test compares against
    user-mode-linux podman rootlesskit slirp4netns
    # reliability: sanitizers, libFuzzer, memcheck
    clang libclang-rt-dev valgrind)
fresh=(git mmdebstrap)
deb=(build-essential debhelper dpkg-dev fakeroot)

# Off Debian (a tarball built elsewhere) there is nothing to check against:
# ./configure names whatever is missing.
command -v dpkg-query >/dev/null || exit 0

[ $# -gt 0 ] || set -- all
packages=()
for group in "$@"; do
    case $group in
        build) packages+=("${build[@]}") ;;
        demo) packages+=("${build[@]}" "${demo[@]}") ;;
        test) packages+=("${build[@]}" "${demo[@]}" "${test[@]}" "${fresh[@]}") ;;
        fresh) packages+=("${fresh[@]}") ;;
        deb) packages+=("${build[@]}" "${deb[@]}") ;;
        all) packages+=("${build[@]}" "${demo[@]}" "${test[@]}" "${fresh[@]}" "${deb[@]}") ;;
        *) echo "install-deps.sh: unknown group '$group' (build, demo, test, fresh, deb, all)" >&2; exit 2 ;;
    esac
done

missing=()
for p in $(printf '%s\n' "${packages[@]}" | sort -u); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} (as root: make deps, or apt-get install them)" >&2
    exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
