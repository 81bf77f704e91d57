#!/bin/bash
# install-deps.sh: installs the Debian packages that building, testing, the
# demo and the benchmark need, skipping the ones already present.
set -euo pipefail

packages=(
    # build
    g++ make autoconf pkg-config libslirp-dev libseccomp-dev libcap-dev libglib2.0-dev
    nlohmann-json3-dev libcmocka-dev
    # tests and demo: namespaces, services, clients
    iproute2 util-linux procps curl socat python3 busybox-static udhcpc dnsmasq-base
    iperf3 sockperf strace libcap2-bin uidmap
    # real clients of the daemon (tests/integration/{bess-uml,podman-*,rootlesskit-*})
    user-mode-linux podman rootlesskit
    # reliability: sanitizers, libFuzzer, memcheck
    clang libclang-rt-dev valgrind
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
