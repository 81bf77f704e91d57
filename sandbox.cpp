// sandbox.cpp: the mount namespace, user namespace and capability work behind
// --enable-sandbox (see sandbox.hpp).
#include "sandbox.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "files.hpp"
#include "sanitizers.hpp"
#include "tap.hpp"
#include "unique_fd.hpp"

namespace {

// Where the new root is assembled before pivot_root. Any directory works
// since the tmpfs mounted over it is private to our new mount namespace; /tmp
// exists everywhere.
constexpr const char* kStaging = "/tmp";
// Directories of the host that the sandbox keeps: /etc for resolv.conf (and
// hosts, nsswitch), /run for resolv.conf behind a resolver daemon's symlink.
constexpr const char* kKeptDirs[] = {"/etc", "/run"};
// The kernel gives up on symlink chains at 40 hops; so do we.
constexpr int kMaxSymlinkHops = 40;

std::string errno_text(const std::string& what) {
    return "--enable-sandbox: " + what + ": " + std::strerror(errno);
}

bool is_under(const std::string& path, const std::string& dir) {
    return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                           path[dir.size()] == '/');
}

bool is_under_kept_dir(const std::string& path) {
    for (const char* dir : kKeptDirs)
        if (is_under(path, dir)) return true;
    return false;
}

bool same_namespace(int fd, const char* own_path) {
    struct stat theirs {};
    struct stat ours {};
    if (fstat(fd, &theirs) < 0 || stat(own_path, &ours) < 0) return false;
    return theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

// The user namespace that owns the target: where a rootless daemon gains the
// right to build its mount namespace. Invalid (with *error empty) when the
// target has no user namespace other than ours, or when there is no target
// namespace at all (tapfd, BESS).
UniqueFd target_user_namespace(const Options& options, std::string* error) {
    if (options.target_type != TargetType::Netns || options.netns_type == NetnsType::TapFd)
        return {};
    TargetNamespaces ns = open_target_namespaces(options);
    if (!ns.error.empty()) {
        *error = "--enable-sandbox: " + ns.error;
        return {};
    }
    if (ns.user) return std::move(ns.user);
    if (!options.userns_path.empty()) return {};  // given, and it is ours
    // --netns-type=path without --userns-path: the namespace's owner is the
    // user namespace it was created in.
    UniqueFd owner(ioctl(ns.net.get(), NS_GET_USERNS));
    if (!owner || same_namespace(owner.get(), "/proc/self/ns/user")) return {};
    return owner;
}

// Rootless with nothing to join: a user namespace of our own, mapping only
// our own ids, which is all an unprivileged process may map.
std::string create_user_namespace() {
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER) < 0) return errno_text("cannot create a user namespace");
    // setgroups must be denied before an unprivileged gid_map write.
    if (!write_file("/proc/self/setgroups", "deny"))
        return errno_text("cannot write /proc/self/setgroups");
    if (!write_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1"))
        return errno_text("cannot write /proc/self/uid_map");
    if (!write_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1"))
        return errno_text("cannot write /proc/self/gid_map");
    return "";
}

std::string enter_user_namespace(const Options& options) {
    std::string error;
    UniqueFd userns = target_user_namespace(options, &error);
    if (!error.empty()) return error;
    if (!userns) return create_user_namespace();
    if (setns(userns.get(), CLONE_NEWUSER) < 0)
        return errno_text("cannot join the target's user namespace");
    return "";
}

std::string make_read_only(const std::string& path) {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    // AT_RECURSIVE: submounts too (the test's resolv.conf bind, /run/user/N).
    if (mount_setattr(AT_FDCWD, path.c_str(), AT_RECURSIVE, &attr, sizeof attr) < 0)
        return errno_text("cannot make " + path + " read-only");
    return "";
}

// Builds the new root on a tmpfs at kStaging and pivots into it; the old root
// is detached, so nothing else of the host's file system stays reachable.
std::string pivot_into_fresh_root() {
    if (unshare(CLONE_NEWNS) < 0) return errno_text("cannot create a mount namespace");
    // Private first: nothing we mount may propagate back to the host, and
    // pivot_root refuses shared mounts.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
        return errno_text("cannot make mounts private");
    if (mount("tmpfs", kStaging, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0)
        return errno_text(std::string("cannot mount a tmpfs on ") + kStaging);
    for (const char* dir : kKeptDirs) {
        struct stat st {};
        if (stat(dir, &st) < 0 && errno == ENOENT) continue;  // a host without /run
        std::string target = std::string(kStaging) + dir;
        if (mkdir(target.c_str(), 0755) < 0) return errno_text("cannot create " + target);
        // Read-only: the daemon writes nothing there (socket files are
        // removed through directory fds opened before the sandbox).
        // Recursive: submounts come along (a bind-mounted resolv.conf, a
        // resolver's tmpfs under /run); in a user namespace it is also the
        // only bind allowed over locked submounts.
        if (mount(dir, target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
            return errno_text(std::string("cannot bind-mount ") + dir);
        std::string error = make_read_only(target);
        if (!error.empty()) return error;
    }
    if (chdir(kStaging) < 0) return errno_text(std::string("cannot enter ") + kStaging);
    // pivot_root(".", ".") stacks the old root on top of the new one, so it
    // can be detached without a directory to park it in.
    if (syscall(SYS_pivot_root, ".", ".") < 0) return errno_text("pivot_root failed");
    if (umount2(".", MNT_DETACH) < 0) return errno_text("cannot detach the old root");
    if (chdir("/") < 0) return errno_text("cannot enter the new root");
    if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) < 0)
        return errno_text("cannot make the new root read-only");
    return "";
}

bool has_effective(cap_value_t cap) {
    cap_t caps = cap_get_proc();
    if (caps == nullptr) return false;
    cap_flag_value_t value = CAP_CLEAR;
    cap_get_flag(caps, cap, CAP_EFFECTIVE, &value);
    cap_free(caps);
    return value == CAP_SET;
}

// Bounding set first, while CAP_SETPCAP is still held; then ambient, then
// the process's own sets.
std::string drop_capabilities(const std::vector<cap_value_t>& keep) {
    cap_value_t last = cap_max_bits();
    for (cap_value_t cap = 0; cap < last; cap++) {
        if (std::find(keep.begin(), keep.end(), cap) != keep.end()) continue;
        if (cap_drop_bound(cap) < 0 && errno != EINVAL)
            return errno_text("cannot drop capability " + std::to_string(cap) +
                              " from the bounding set");
    }
    if (cap_reset_ambient() < 0) return errno_text("cannot clear the ambient capabilities");
    cap_t caps = cap_init();  // all three sets empty
    if (caps == nullptr) return errno_text("cap_init");
    bool ok = true;
    if (!keep.empty()) {
        int n = static_cast<int>(keep.size());
        ok = cap_set_flag(caps, CAP_EFFECTIVE, n, keep.data(), CAP_SET) == 0 &&
             cap_set_flag(caps, CAP_PERMITTED, n, keep.data(), CAP_SET) == 0;
    }
    ok = ok && cap_set_proc(caps) == 0;
    int saved = errno;
    cap_free(caps);
    errno = saved;
    return ok ? "" : errno_text("cannot drop capabilities");
}

}  // namespace

std::string resolv_conf_escape(const std::string& start) {
    std::string path = start;
    std::string chain = start;
    for (int hop = 0; hop < kMaxSymlinkHops; hop++) {
        char target[PATH_MAX];
        ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
        // Not a symlink (or absent): whatever is there, the bind of /etc
        // carries it, submounts included.
        if (n < 0) return "";
        target[n] = '\0';
        path = resolve_link_target(path, target);
        chain += " -> " + path;
        if (!is_under_kept_dir(path))
            return "--enable-sandbox: " + chain +
                   " leads outside /etc and /run, so DNS forwarding could not read it in the "
                   "sandbox";
    }
    return "--enable-sandbox: " + chain + ": too many levels of symbolic links";
}

std::string enter_sandbox(const Options& options, bool keep_net_admin) {
    check_leaks_before_confinement();
    const char* resolv = "/etc/resolv.conf";
    std::string error = resolv_conf_escape(resolv);
    if (!error.empty()) return error;
    bool had_resolv = access(resolv, R_OK) == 0;
    // "Root" is whoever may already do the mount work here: root on the
    // host, root in podman's rootless user namespace, or the port-forwarding
    // helper that has joined the target's user namespace. Only they keep
    // CAP_NET_BIND_SERVICE, and only if they hold it now.
    bool privileged = has_effective(CAP_SYS_ADMIN);
    std::vector<cap_value_t> keep;
    if (privileged && has_effective(CAP_NET_BIND_SERVICE)) keep.push_back(CAP_NET_BIND_SERVICE);
    if (keep_net_admin && has_effective(CAP_NET_ADMIN)) keep.push_back(CAP_NET_ADMIN);
    if (!privileged) {
        error = enter_user_namespace(options);
        if (!error.empty()) return error;
    }
    error = pivot_into_fresh_root();
    if (!error.empty()) return error;
    // The symlink check is lexical; this catches what it cannot see (a
    // directory symlink on the way, say).
    if (had_resolv && access(resolv, R_OK) < 0)
        return errno_text("/etc/resolv.conf is not readable inside the sandbox");
    // Capabilities last: the mount work above needed CAP_SYS_ADMIN. Rootless,
    // CAP_NET_BIND_SERVICE would only count in our own user namespace, not in
    // the host's network namespace where forwards listen, so nothing stays.
    error = drop_capabilities(keep);
    if (!error.empty()) return error;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return errno_text("PR_SET_NO_NEW_PRIVS");
    return "";
}
