// seccomp.cpp: the --enable-seccomp allowlist and its installation (see
// seccomp.hpp).
//
// Where the list comes from: strace (`strace -f -qq -e trace=all`, keeping
// only the calls made after the ready-fd is written) over the daemon and its
// port-forwarding helper while the integration tests ran with both
// --enable-sandbox and --enable-seccomp: TCP and UDP to host services with
// and without -6, DNS, DHCP (udhcpc), ICMP echo, API add/list/remove/stats
// with forwarded traffic in slirp and splice mode, iperf3 both ways, exit-fd,
// SIGTERM, SIGINT and SIGHUP. Every call seen there is listed, grouped by who
// makes it; a handful that the same code paths reach only under load or on
// errors (EINTR restarts, the vectored and batched forms of calls already
// seen, the time calls the vDSO usually answers) are added beside them and
// marked. Code that starts making a new system call after start-up must add
// it here; tests/integration/seccomp-functional.sh is what notices.
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
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>

namespace {

constexpr const char* kAllowed[] = {
    // The event loop and its watches: poll, signalfd reads, timers.
    "poll", "ppoll", "read", "write", "close", "clock_gettime", "clock_nanosleep", "gettimeofday",
    "nanosleep",  // vDSO fallbacks and glib's clock
    "rt_sigreturn", "rt_sigprocmask", "restart_syscall",
    // Memory (glibc's malloc, glib's slices).
    "brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
    // libslirp's sockets: outbound TCP/UDP/ICMP, DNS forwarding, hostfwd
    // listeners (added through the API after the sandbox exists).
    "socket", "connect", "bind", "listen", "accept", "accept4", "getsockname", "getpeername",
    "setsockopt", "getsockopt", "shutdown", "recvfrom", "sendto", "recvmsg", "sendmsg", "recvmmsg",
    "sendmmsg", "readv", "writev", "ioctl", "fcntl",
    // libslirp rereads /etc/resolv.conf when it changes (stat, then open).
    "openat", "open", "newfstatat", "fstat", "stat", "lstat", "statx", "lseek",
    // glib's random numbers and libslirp's DHCP/DNS ids.
    "getrandom", "getpid", "gettid", "futex",
    // Splice-mode forwarding: pipes between sockets, fds from the helper.
    "pipe2", "splice",
    // The API socket file is removed by a directory fd on exit (BESS too).
    "unlinkat", "unlink",
    // Exit.
    "exit", "exit_group", "tgkill",  // tgkill: abort() on an assertion
};

}  // namespace

std::string install_seccomp_filter() {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (ctx == nullptr) return "--enable-seccomp: cannot create a seccomp filter";
    std::string error;
    for (const char* name : kAllowed) {
        int nr = seccomp_syscall_resolve_name(name);
        // Names the native architecture does not have (open and stat on
        // aarch64) are simply absent there.
        if (nr == __NR_SCMP_ERROR) continue;
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (rc < 0) {
            error =
                std::string("--enable-seccomp: cannot allow ") + name + ": " + std::strerror(-rc);
            break;
        }
    }
    // libseccomp sets PR_SET_NO_NEW_PRIVS itself (its default), which is what
    // lets an unprivileged process load a filter without --enable-sandbox.
    if (error.empty()) {
        int rc = seccomp_load(ctx);
        if (rc < 0)
            error = std::string("--enable-seccomp: cannot load the seccomp filter: ") +
                    std::strerror(-rc);
    }
    seccomp_release(ctx);
    return error;
}
