# SPDX-License-Identifier: GPL-2.0-or-later
# tests/lib-clients.sh: helpers for running the project's clients and their
# shapes: the unprivileged test user, rootless namespaces, podman, launchers
# that start the daemon the way a client does, and User Mode Linux. Sourced
# by tests/lib.sh (tests source lib.sh only), after the core helpers it uses.

# ensure_test_user: an unprivileged user with subordinate ids, for the
# rootless path, and what it runs staged where it can read it.
TEST_USER=s4ntest
ensure_test_user() {
    (
        flock 9
        id "$TEST_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$TEST_USER"
        grep -q "^$TEST_USER:" /etc/subuid || echo "$TEST_USER:200000:65536" >>/etc/subuid
        grep -q "^$TEST_USER:" /etc/subgid || echo "$TEST_USER:200000:65536" >>/etc/subgid
    ) 9>/tmp/s4n-user.lock
    stage_for_test_user
}

# stage_for_test_user: a checkout may sit where the test user cannot read it
# (a 0700 home such as /root), so everything that user runs comes from
# $STAGE, a 0755 directory of this test's own: a copy of the daemon ($SLIRP
# names the copy from here on, so wrappers and launchers made later run it)
# and of the tests' helper scripts ($STAGE/api-client.py, ...). The shell
# also moves to $WORK: processes the user starts inherit the working
# directory, and some (podman's conmon) change into it.
stage_for_test_user() {
    [ -n "${STAGE:-}" ] && return
    STAGE=$WORK/stage
    install -d -m 755 "$STAGE"
    install -m 755 "$SLIRP" "$STAGE/$(basename "$SLIRP")" || fail "cannot stage $SLIRP"
    install -m 644 "$TESTS_DIR"/integration/*.py "$STAGE/" || fail "cannot stage the helper scripts"
    SLIRP=$STAGE/$(basename "$SLIRP")
    cd "$WORK" || fail "cannot change into $WORK"
}

# world_usable_tun: /dev/net/tun as real distributions ship it (0666), in this
# test's mount namespace only; the machine's own node is not touched.
world_usable_tun() {
    mount -t tmpfs -o mode=755 s4n-dev-net /dev/net
    mknod -m 666 /dev/net/tun c 10 200
}

# rootless_client_host: the host side a rootless client finds: the test user
# (with what it runs staged), a usable /dev/net/tun and a loopback-only
# resolv.conf.
rootless_client_host() {
    ensure_test_user
    world_usable_tun
    private_resolv_conf
}

# rootlesskit_slirp4netns DIR SCRIPT PUBLISH...: rootlesskit as the test user
# with --net=slirp4netns and --port-driver=slirp4netns, sandboxed and
# seccomp'd, running our binary through $WORK/slirp-wrapper (logging_wrapper)
# and SCRIPT as its child, each PUBLISH as a -p; DIR is its home and state,
# its output goes to $WORK/rootlesskit.log. Sets RK_PID: setpriv directly
# (not as_test_user, a function run in a subshell), so that the pid is
# rootlesskit's own and stopping it ends the whole tree.
rootlesskit_slirp4netns() {
    local dir=$1 script=$2 publish=() port
    shift 2
    for port in "$@"; do publish+=(-p "$port"); done
    background setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env -- \
        env HOME="$dir" XDG_RUNTIME_DIR="$dir" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        rootlesskit --state-dir="$dir/state" --net=slirp4netns --slirp4netns-binary="$WORK/slirp-wrapper" \
        --slirp4netns-sandbox=true --slirp4netns-seccomp=true --port-driver=slirp4netns \
        "${publish[@]}" "$script" >"$WORK/rootlesskit.log" 2>&1
    RK_PID=$!
}

# as_test_user COMMAND...: runs COMMAND as the unprivileged test user.
as_test_user() {
    setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env -- "$@"
}

# api_as_test_user SOCKET ...: like api, as the test user (as a rootless
# client asks), with the staged client script.
api_as_test_user() { as_test_user python3 "$STAGE/api-client.py" "$@"; }

# uml_boot LOG KERNEL_ARGS...: boots Debian's User Mode Linux (linux.uml) with
# a hostfs root, console on stdout into LOG, state under $WORK. Times out
# after 40 s. This CPU has AMX, whose xstate is larger than UML 6.1's buffer:
# PTRACE_SETREGSET then fails with EFAULT and init dies at once. A seccomp
# filter on UML makes its start-up probe (PTRACE_GETREGSET NT_X86_XSTATE)
# fail, so UML falls back to the legacy FP registers calls, which work.
uml_boot() {
    local log=$1
    shift
    mkdir -p "$WORK/uml"
    # Argument 0 is the request (PTRACE_GETREGSET), argument 2 the register
    # set (NT_X86_XSTATE).
    timeout 40 python3 "$TESTS_DIR/integration/refuse-syscall.py" ptrace EIO 0=0x4204 2=0x202 -- \
        linux.uml "uml_dir=$WORK/uml" umid=s4n root=/dev/root rootfstype=hostfs rw mem=256M \
        con=null con0=fd:0,fd:1 "$@" </dev/null >"$log" 2>&1
}

# UML_GUEST_ENV: an init script for uml_boot exports this first. Glibc's
# AVX-512 string functions misbehave in UML guests on this machine (their
# extended registers are not kept across UML's traps), so guests use SSE.
UML_GUEST_ENV='export PATH=/usr/sbin:/usr/bin:/sbin:/bin GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,-AVX2,-AVX,-EVEX'

# private_resolv_conf: clients copy the host's resolvers into their
# namespaces; this test's mount namespace gets a loopback-only one.
private_resolv_conf() {
    echo "nameserver 127.0.0.1" >"$WORK/resolv.conf"
    mount --bind "$WORK/resolv.conf" /etc/resolv.conf
}

# busybox_rootfs DIR: a minimal container root filesystem made of Debian's
# busybox-static (no image registry involved), owned by the test user so
# that it is root inside a rootless container.
busybox_rootfs() {
    local dir=$1 applet
    mkdir -p "$dir"/{bin,dev,etc,proc,sys,tmp,run,root}
    cp /bin/busybox "$dir/bin/busybox"
    for applet in $("$dir/bin/busybox" --list); do
        [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
    done
    echo "root:x:0:0:root:/root:/bin/sh" >"$dir/etc/passwd"
    echo "root:x:0:" >"$dir/etc/group"
    chmod 1777 "$dir/tmp"
    chown -R "$TEST_USER:$TEST_USER" "$dir"
}

# plain_cgroup2: this machine's cgroups are hybrid (v1 controllers, v2 at
# /sys/fs/cgroup/unified), which rootless podman cannot use; in this test's
# mount namespace only, /sys/fs/cgroup becomes a plain cgroup2 mount.
plain_cgroup2() {
    mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "cannot mount cgroup2 on /sys/fs/cgroup"
}

# logging_wrapper PATH: an executable at PATH that appends its arguments (one
# line per call) to PATH.argv and then runs $SLIRP, so a test can prove which
# binary a client launched and how.
logging_wrapper() {
    local path=$1
    cat >"$path" <<WRAPPER
#!/bin/sh
echo "\$*" >>"$path.argv"
exec "$SLIRP" "\$@"
WRAPPER
    chmod 755 "$path"
    : >"$path.argv"
    chmod 666 "$path.argv"
}

# podman_setup: rootless podman 4.3 as the test user with private storage and
# state under $WORK, our daemon (through logging_wrapper) as its network
# helper. Defines PODMAN (the command prefix) and ROOTFS. Skips when podman
# is not installed.
podman_setup() {
    command -v podman >/dev/null || skip "podman is not installed (make deps)"
    rootless_client_host
    plain_cgroup2
    # podman wants shared propagation on /; this mount namespace is the
    # test's own, so nothing propagates to the machine's.
    mount --make-rshared /
    ROOTFS=$WORK/rootfs
    busybox_rootfs "$ROOTFS"
    local home=$WORK/home
    # podman puts the API socket in --tmpdir as <64 hex digits>.net: a short
    # directory keeps the path within sun_path's 108 bytes.
    PODMAN_TMP=$(mktemp -d /tmp/s4np.XXXXXX)
    chown "$TEST_USER:$TEST_USER" "$PODMAN_TMP"
    mkdir -p "$home" "$home/run"
    chmod 700 "$home/run"
    chown -R "$TEST_USER:$TEST_USER" "$home"
    logging_wrapper "$WORK/slirp-wrapper"
    PODMAN=(as_test_user env HOME="$home" XDG_RUNTIME_DIR="$home/run" XDG_CONFIG_HOME="$home/.config"
        XDG_DATA_HOME="$home/.local/share" PATH=/usr/sbin:/usr/bin:/sbin:/bin
        podman --root="$home/storage" --runroot="$home/runroot" --storage-driver=vfs
        --cgroup-manager=cgroupfs --events-backend=file --tmpdir="$PODMAN_TMP"
        --network-cmd-path="$WORK/slirp-wrapper")
    PODMAN_HOME=$home
    trap 'podman_cleanup; cleanup' EXIT
}

# podman_cleanup: containers a failed test left running are removed (with
# their conmon and network helper); then the pause process rootless podman
# leaves holding its user namespace is ended by the pid it recorded. Anything
# still running from this test's private podman directories goes last.
podman_cleanup() {
    local pid
    "${PODMAN[@]}" rm --all --force --time 0 >/dev/null 2>&1
    for pid in $(find "$PODMAN_HOME" "$PODMAN_TMP" -name pause.pid -exec cat {} + 2>/dev/null); do
        kill "$pid" 2>/dev/null
    done
    for pid in $(pgrep -u "$TEST_USER" -f -- "$PODMAN_TMP"); do
        kill "$pid" 2>/dev/null
    done
    rm -rf "$PODMAN_TMP"
}

# podman_run RUN_OPTIONS... -- COMMAND...: runs COMMAND in a fresh container
# on the busybox root filesystem.
podman_run() {
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    shift
    "${PODMAN[@]}" run --rm --cgroups=disabled "${opts[@]}" --rootfs "$ROOTFS" "$@"
}

# slirp_launcher NAME PREFIX...: writes $WORK/NAME, an executable that runs
# PREFIX... followed by its own arguments, and prints its path. With
# SLIRP=$(slirp_launcher ...) start_slirp runs the daemon through it.
slirp_launcher() {
    local path=$WORK/$1
    shift
    {
        echo '#!/bin/sh'
        printf 'exec'
        printf ' %q' "$@"
        printf ' "$@"\n'
    } >"$path"
    chmod 755 "$path"
    echo "$path"
}

# tapfd_launcher PID TAPNAME: prints the path of a launcher that creates the
# tap TAPNAME in PID's network namespace, returns to this namespace and runs
# $SLIRP with the launcher's arguments plus the tap's fd number last, as a
# client using --netns-type=tapfd does.
tapfd_launcher() {
    cat >"$WORK/tap-fd-exec.py" <<'PY'
import ctypes, fcntl, os, struct, sys
pid, name, program, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
CLONE_NEWNET, TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x40000000, 0x400454CA, 0x0002, 0x1000
libc = ctypes.CDLL(None, use_errno=True)
home = os.open("/proc/self/ns/net", os.O_RDONLY)
target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
if libc.setns(target, CLONE_NEWNET) != 0:
    sys.exit(f"tap-fd-exec: setns: {os.strerror(ctypes.get_errno())}")
tap = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
if libc.setns(home, CLONE_NEWNET) != 0:
    sys.exit(f"tap-fd-exec: setns back: {os.strerror(ctypes.get_errno())}")
os.close(home)
os.close(target)
os.set_inheritable(tap, True)
os.execv(program, [program] + args + [str(tap)])
PY
    slirp_launcher tapfd-launcher python3 "$WORK/tap-fd-exec.py" "$1" "$2" "$SLIRP"
}

# start_guest_as_test_user: like start_guest, but the namespaces belong to the
# unprivileged test user (unshare -U -r -n as that user), as podman and
# rootlesskit make them. Needs ensure_test_user first.
start_guest_as_test_user() {
    # setpriv itself, not the as_test_user function: a function would run in a
    # forked subshell and $! would not be the guest.
    setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups --reset-env -- \
        unshare --user --map-root-user --net sh -c 'ip link set lo up; exec sleep 1000' &
    GUEST_PID=$!
    BACKGROUND_PIDS+=($GUEST_PID)
    wait_until 5 guest_has_own_netns || fail "guest namespace did not appear"
}

# in_child COMMAND...: COMMAND as root of the guest's user namespace (the
# test user's own, from start_guest_as_test_user, as rootlesskit's child
# is), in its network namespace.
in_child() {
    as_test_user nsenter --target "$GUEST_PID" --user --net --preserve-credentials -- "$@"
}

# pre_made_tap TAP [PREFIX...]: TAP made and brought up in the guest
# beforehand through PREFIX (default in_guest; in_child for a rootless
# guest), as rootlesskit makes it. guest_tap_config TAP [PREFIX...]: then
# the address and route the daemon's -c would give it (rootlesskit's own).
pre_made_tap() {
    local tap=$1
    shift
    [ $# -gt 0 ] || set -- in_guest
    "$@" ip tuntap add name "$tap" mode tap || fail "cannot make $tap in the guest"
    "$@" ip link set "$tap" up || fail "cannot bring $tap up in the guest"
}
guest_tap_config() {
    local tap=$1
    shift
    [ $# -gt 0 ] || set -- in_guest
    "$@" ip addr add 10.0.2.100/24 dev "$tap" || fail "cannot give $tap its address"
    "$@" ip route add default via 10.0.2.2 dev "$tap" || fail "cannot route through $tap"
}

# start_client_slirp READY_FD EXIT_FD ARGS...: runs $SLIRP with exactly ARGS,
# a client's own command line (its -r READY_FD and, unless EXIT_FD is "-",
# -e EXIT_FD among them). READY_FD writes into a pipe this shell reads; it
# waits for the "1". EXIT_FD reads from a pipe whose only writer is a process
# of its own (not this shell, whose later children would inherit it):
# close_exit_fd ends it, as a client closes its end to stop the daemon. Sets
# SLIRP_PID; output goes to $WORK/slirp.log. Returns non-zero if the daemon
# exits before becoming ready. With SLIRP=$(slirp_launcher ...) the daemon
# runs where and as whom the client runs it.
start_client_slirp() {
    local ready_fd=$1 exit_fd=$2 ready redirect
    shift 2
    rm -f "$WORK/ready" "$WORK/exit"
    mkfifo "$WORK/ready"
    redirect="$ready_fd>\"\$WORK/ready\""
    if [ "$exit_fd" != - ]; then
        mkfifo "$WORK/exit"
        sleep 100000 >"$WORK/exit" &
        EXIT_WRITER_PID=$!
        BACKGROUND_PIDS+=($EXIT_WRITER_PID)
        redirect="$redirect $exit_fd<\"\$WORK/exit\""
    fi
    # eval: the descriptor numbers are the client's, given as arguments.
    eval "ASAN_OPTIONS=\$(leak_check_options \"\$@\") \"\$SLIRP\" \"\$@\" $redirect \
        >\"\$WORK/slirp.log\" 2>&1 &"
    SLIRP_PID=$!
    BACKGROUND_PIDS+=($SLIRP_PID)
    ready=$(timeout 10 cat "$WORK/ready")
    [ "$ready" = 1 ] || {
        log "slirp4netns did not become ready (got '$ready')"
        return 1
    }
}

# close_exit_fd: closes the only writer of the daemon's exit-fd pipe.
close_exit_fd() {
    kill "$EXIT_WRITER_PID"
    wait "$EXIT_WRITER_PID" 2>/dev/null
}

# in_guest_userns_launcher NAME: prints the path of a launcher that runs
# $SLIRP as the test user inside the guest's user namespace (root there, in
# the host side's network namespace), as rootless podman and buildah run it:
# they have joined their own user namespace, which owns the container's
# network namespace. Needs start_guest_as_test_user first.
in_guest_userns_launcher() {
    slirp_launcher "$1" setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups \
        --reset-env -- nsenter --target "$GUEST_PID" --user --preserve-credentials -- "$SLIRP"
}

# our_processes: the pids of every process running this test's $SLIRP (the
# daemon and any helper it forked), one per line.
our_processes() {
    local exe pid target
    target=$(readlink -f "$SLIRP")
    for exe in /proc/[0-9]*/exe; do
        [ "$(readlink "$exe" 2>/dev/null)" = "$target" ] || continue
        pid=${exe#/proc/}
        echo "${pid%/exe}"
    done
}
