#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/fresh-root.sh (make check-fresh): the README's first command as a
# newcomer runs it. mmdebstrap builds a minimal Debian 12 root (minbase, plus
# only make and git) from this machine's own apt sources; the committed HEAD
# is cloned into a 0700 directory there (/root/src/slirp4netns), and
# `make demo` runs as root inside it. Then `make deb` builds the package in
# the same root, it is installed over Debian's own slirp4netns, and the demo
# runs again against /usr/bin/slirp4netns. Any non-zero exit fails the check.
#
# The root is a mount point (bound onto itself, so that `unshare --mount`
# works inside) with /proc, /sys and /dev (for /dev/net/tun) mounted. All of
# it happens in a mount namespace of this script's own: the mounts vanish
# with it, and the directory is removed from outside that namespace, where
# nothing is mounted inside it. The only network used is the apt mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
die() {
    echo "check-fresh: $*" >&2
    exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (chroot, mounts)"

if [ -z "${S4N_FRESH_DIR:-}" ]; then
    dir=$(mktemp -d /tmp/s4n-fresh.XXXXXX)
    trap 'rm -rf --one-file-system "$dir"' EXIT
    trap 'exit 130' INT TERM
    status=0
    S4N_FRESH_DIR=$dir unshare --mount --propagation private bash "$0" || status=$?
    exit $status
fi

root=$S4N_FRESH_DIR/root
src=/root/src/slirp4netns
version=$(cat VERSION)
commit=$(git rev-parse HEAD)

# in_root COMMAND: runs COMMAND (a shell line) as root in the fresh root, in
# the clean environment of a login there, not this make's.
in_root() {
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
        bash -c "$1"
}

# processes_in_root: pids of everything still running with the fresh root
# as its root directory.
processes_in_root() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
    done
    return 0
}

cleanup() {
    local pids
    pids=$(processes_in_root)
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    mountpoint -q "$root" && { umount -R "$root" || umount -R -l "$root"; }
    return 0
}
trap cleanup EXIT

now() { echo "${EPOCHREALTIME/./}"; }
# since START: seconds from START (a now() value) to now, one decimal.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
step() { printf '\n== check-fresh: %s\n' "$*"; }

# The sources apt reads here, as files mmdebstrap pastes into the new root.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -qEv '^[[:space:]]*(#|$)' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || die "this machine has no apt sources"

step "minimal Debian 12 root from ${sources[*]}"
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
    echo "note: uncommitted changes are not tested; the root gets HEAD ($commit)"
t=$(now)
mmdebstrap --quiet --variant=minbase --include=make,git bookworm "$root" "${sources[@]}"
t_root=$(since "$t")
echo "built in ${t_root}s"

mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
[ -e "$root/etc/resolv.conf" ] || cp -L /etc/resolv.conf "$root/etc/resolv.conf"

git bundle create -q "$root/root/slirp4netns.bundle" HEAD
install -d -m 0700 "$root/root/src"
in_root "git -c advice.detachedHead=false clone -q /root/slirp4netns.bundle $src && rm /root/slirp4netns.bundle"

# demo_phases: passes `make demo`'s output through and times its phases by
# the commands make echoes: installing packages, building, the demo. Lines
# telling the newcomer to run something first are kept in $S4N_FRESH_DIR/advice:
# the command itself is meant to do it.
demo_phases() {
    local line start mark phase="packages"
    declare -A took=()
    start=$(now) mark=$start
    while IFS= read -r line; do
        printf '%s\n' "$line"
        case $line in
            "make all") took[$phase]=$(since "$mark") mark=$(now) phase=build ;;
            "bash tests/demo.sh") took[$phase]=$(since "$mark") mark=$(now) phase=demo ;;
            *"run 'make"* | *"make deps"*) printf '%s\n' "$line" >>"$S4N_FRESH_DIR/advice" ;;
        esac
    done
    took[$phase]=$(since "$mark")
    echo "make demo took $(since "$start")s: packages ${took[packages]:-?}s, build ${took[build]:-?}s," \
        "demo ${took[demo]:-?}s" >"$S4N_FRESH_DIR/demo-times"
}

step "make demo in $src"
t=$(now)
in_root "cd $src && make demo" 2>&1 | demo_phases
t_demo=$(since "$t")
cat "$S4N_FRESH_DIR/demo-times"
[ ! -s "$S4N_FRESH_DIR/advice" ] || die "make demo told the newcomer to run something first: $(cat "$S4N_FRESH_DIR/advice")"

step "make deb, installed over Debian's slirp4netns"
t=$(now)
in_root "cd $src && make deb"
deb=slirp4netns_${version}_$(in_root "dpkg --print-architecture").deb
in_root "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slirp4netns >/dev/null"
echo "Debian's: $(in_root "dpkg-query -W -f='\${Version}' slirp4netns")"
in_root "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $src/$deb >/dev/null"
installed=$(in_root "dpkg-query -W -f='\${Version}' slirp4netns")
echo "installed: $installed"
[ "$installed" = "$version" ] || die "installed slirp4netns is $installed, not $version"
heading=$(in_root "zcat /usr/share/man/man1/slirp4netns.1.gz | sed -n '/^\.TH /p'")
[[ $heading == *" \"slirp4netns $version\" "* ]] || die "the package's man page is not for $version: $heading"
in_root "/usr/bin/slirp4netns --version" | tee "$S4N_FRESH_DIR/version"
grep -qx "slirp4netns version $version" "$S4N_FRESH_DIR/version" &&
    grep -qx "commit: $commit" "$S4N_FRESH_DIR/version" ||
    die "/usr/bin/slirp4netns --version does not name $version and $commit"
# Debian's hardening flags reached the compile and the link: stack
# protector, fortified calls, full RELRO.
elf=$(in_root "readelf -dlW --dyn-syms /usr/bin/slirp4netns")
for want in BIND_NOW GNU_RELRO __stack_chk_fail; do
    grep -q "$want" <<<"$elf" || die "/usr/bin/slirp4netns lacks $want: not built with the hardening flags"
done
fortified=$(grep -v __stack_chk_fail <<<"$elf" | grep -c '_chk@' || true)
[ "$fortified" -gt 0 ] ||
    die "/usr/bin/slirp4netns calls no fortified (_chk) function: not built with -D_FORTIFY_SOURCE"
echo "hardened: BIND_NOW, GNU_RELRO, stack protector, fortified calls"
t_deb=$(since "$t")

step "the demo against /usr/bin/slirp4netns"
t=$(now)
in_root "cd $src && SLIRP=/usr/bin/slirp4netns bash tests/demo.sh"
t_pkgdemo=$(since "$t")

echo
echo "check-fresh: passed; mmdebstrap ${t_root}s, make demo ${t_demo}s," \
    "make deb and install ${t_deb}s, demo on the package ${t_pkgdemo}s"
