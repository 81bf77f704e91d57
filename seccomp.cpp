// SPDX-License-Identifier: GPL-2.0-or-later
// seccomp.cpp: the --enable-seccomp allowlist and its installation (see
// seccomp.hpp).
//
// Where the list comes from: strace (`strace -f -qq -e trace=all`, attached
// before exec) over the daemon and its port-forwarding helper, counting every
// call a process made after its own filter was installed, while these
// integration tests ran with --enable-sandbox --enable-seccomp forced on:
// basic-configure, dhcp (udhcpc), dns, exit-fd, fault-exit-fd-traffic,
// host-loopback, ipv6, outbound-addr, signals, fault-signals-traffic,
// splice-tcp, splice-udp, api-forward, api-commands (add/list/remove/stats),
// api-privileged-port, tapfd, netns-path, podman-host-loopback,
// podman-ipv6-cidr and the sandbox-* tests (iperf3 both ways included): 40
// daemon runs, 35 distinct calls, none refused. That set is listed below,
// grouped by who makes it. The few added beyond it are marked "not seen"
// with the reason; nothing else is allowed. The kernel TCP path (the
// default, so the tests above run over it) needs nothing beyond the list:
// it connects, accepts, reads addresses, duplicates descriptors (its accept
// reserve) and splices like the splice forwarder; strace over a confined
// daemon moving TCP out, to the gateway, over IPv6, half-closed, reset,
// refused and unreachable saw no call refused. --pcap adds nothing either:
// libpcap is loaded and its file opened before confinement, and its stdio
// buffer goes out with write and close (strace over a confined capture
// through traffic, exit and a full disk). Code that starts making a new
// system call after start-up must add it here; the sandbox-* tests run the
// functional matrix under the filter.
//
// What a refused call does: the default action is ERRNO(EPERM), not KILL or
// TRAP. The daemon keeps running and the caller's ordinary error path reports
// the failure, with strerror(EPERM) ("Operation not permitted") and the name
// of what it was doing (a device read, a hostfwd bind, a helper request), so
// the daemon logs what failed. SCMP_ACT_LOG would only write to the kernel's
// audit log, which rootless users usually cannot read, and a SIGSYS handler
// that rewrites the return value would be architecture-specific code in a
// signal handler for no gain over the error paths that exist anyway.
//
// Architectures: the filter is built for the native one only (libseccomp's
// default context); calls made through another ABI (x32, i386 int 0x80) are
// killed by libseccomp's bad-architecture action, which nothing in this
// program ever does.
#include "seccomp.hpp"

#include <seccomp.h>

#include <cerrno>
#include <memory>

#include "error.hpp"
#include "sanitizers.hpp"

namespace {

constexpr const char* kAllowed[] = {
    // The event loop: poll, the tap, signalfd, exit-fd, stderr. Not seen
    // (the loop's epoll set is newer than the list): epoll_ctl and
    // epoll_wait, or epoll_pwait where glibc uses it (aarch64).
    "poll",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "read",
    "write",
    "writev",
    "close",
    // Not seen: aarch64 has no poll (glibc's poll() is ppoll there); the
    // kernel restarts an interrupted poll with restart_syscall after a
    // SIGSTOP/SIGCONT; clock_gettime when the clock source has no vDSO path.
    "ppoll",
    "restart_syscall",
    "clock_gettime",
    // The kernel UDP path's ring looks again a little later while the guest
    // streams (frame_ring.hpp); its timer is made when the ring is mapped.
    "timerfd_create",
    "timerfd_settime",
    // Memory (glibc's malloc). Not seen: madvise, with which free() and the
    // sanitizer allocator may hand memory back.
    "brk",
    "mmap",
    "munmap",
    "mremap",
    "madvise",
    // libslirp's sockets (outbound TCP/UDP/ICMP, DNS forwarding, hostfwd
    // listeners made after the sandbox exists), the API socket, the splice
    // forwarder and the helper's channel (fds passed by SCM_RIGHTS); in the
    // helper, transparent sockets, its rtnetlink requests and the abstract
    // sockets by which daemons sharing a namespace count each other.
    "socket",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "shutdown",
    "recvfrom",
    "sendto",
    "recvmsg",
    "sendmsg",
    "recvmmsg",
    "sendmmsg",
    "ioctl",
    "fcntl",
    "pipe2",
    "splice",
    // Not seen: the DNS forwarder's TCP streams (dns_forwarder.hpp) are
    // socketpairs made as the guest connects; c-ares's own sockets need
    // nothing beyond the socket calls above.
    "socketpair",
    // libslirp rereads /etc/resolv.conf when it changes (stat, then open).
    "openat",
    "newfstatat",
    // Exit: the API socket file is removed through a directory fd.
    "unlinkat",
    "exit_group",
    // Not seen: abort() (a failed assertion) unblocks and raises SIGABRT, so
    // a bug still ends in a core dump rather than in a string of EPERMs.
    "rt_sigprocmask",
    "getpid",
    "gettid",
    "tgkill",
    // Not seen: at exit the port-forwarding helper is killed (it may be
    // stopped and never see its channel close) and reaped.
    "kill",
    "wait4",
};

// Sanitizer builds only: ASan's runtime calls sigaltstack whenever
// instrumented code calls a noreturn function (_exit, abort), and its error
// reporting path takes locks (futex), yields and changes page protections.
constexpr const char* kAllowedWhenSanitized[] = {
    "sigaltstack", "futex", "sched_yield", "mprotect", "prctl",
};

bool allow(scmp_filter_ctx ctx, const char* name, std::string* err) {
    int nr = seccomp_syscall_resolve_name(name);
    // Names the native architecture does not have (open and stat on
    // aarch64) are simply absent there.
    if (nr == __NR_SCMP_ERROR) return true;
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc == 0) return true;
    return fail(err, errno_text(std::string("--enable-seccomp: cannot allow ") + name, -rc));
}

}  // namespace

bool install_seccomp_filter(std::string* err) {
    check_leaks_before_confinement();
    std::unique_ptr<void, decltype(&seccomp_release)> owned(seccomp_init(SCMP_ACT_ERRNO(EPERM)),
                                                            seccomp_release);
    scmp_filter_ctx ctx = owned.get();
    if (ctx == nullptr) return fail(err, "--enable-seccomp: cannot create a seccomp filter");
    for (const char* name : kAllowed)
        if (!allow(ctx, name, err)) return false;
    if (S4N_SANITIZED_BUILD)
        for (const char* name : kAllowedWhenSanitized)
            if (!allow(ctx, name, err)) return false;
    // libseccomp sets PR_SET_NO_NEW_PRIVS itself (its default), which is what
    // lets an unprivileged process load a filter without --enable-sandbox.
    int rc = seccomp_load(ctx);
    if (rc < 0)
        return fail(err, errno_text("--enable-seccomp: cannot load the seccomp filter", -rc));
    return true;
}
