// SPDX-License-Identifier: GPL-2.0-or-later
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

#include "error.hpp"
#include "files.hpp"
#include "namespaces.hpp"
#include "sanitizers.hpp"
#include "unique_fd.hpp"

namespace {

// Where the new root is assembled before it is entered (by pivot_root, or
// chroot where that is refused). Any directory works
// since the tmpfs mounted over it is private to our new mount namespace; /tmp
// exists everywhere.
constexpr const char* kStaging = "/tmp";
// Directories of the host that the sandbox keeps: /etc for resolv.conf (and
// hosts, nsswitch), /run for resolv.conf behind a resolver daemon's symlink.
constexpr const char* kKeptDirs[] = {"/etc", "/run"};
// The kernel gives up on symlink chains at 40 hops; so do we.
constexpr int kMaxSymlinkHops = 40;
// A path no longer than PATH_MAX is at most this many directories deep.
constexpr int kMaxDepth = PATH_MAX / 2;

// Every failure names the option it comes from.
bool refuse(std::string* err, const std::string& what) {
    return fail(err, "--enable-sandbox: " + errno_text(what));
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

// The user namespace that owns the target: where a rootless daemon gains the
// right to build its mount namespace. Left invalid when the target has no
// user namespace other than ours, or when there is no target namespace at
// all (tapfd, BESS).
bool target_user_namespace(const Options& options, UniqueFd* userns, std::string* err) {
    if (options.target_type != TargetType::Netns || options.netns_type == NetnsType::TapFd)
        return true;
    TargetNamespaces ns;
    std::string why;
    if (!open_target_namespaces(options, &ns, &why)) return fail(err, "--enable-sandbox: " + why);
    if (ns.user) {
        *userns = std::move(ns.user);
        return true;
    }
    if (!options.userns_path.empty()) return true;  // given, and it is ours
    // --netns-type=path without --userns-path: the namespace's owner is the
    // user namespace it was created in.
    UniqueFd owner(ioctl(ns.net.get(), NS_GET_USERNS));
    if (owner && !same_namespace(owner.get(), "/proc/self/ns/user")) *userns = std::move(owner);
    return true;
}

// Rootless with nothing to join: a user namespace of our own, mapping only
// our own ids, which is all an unprivileged process may map.
bool create_user_namespace(std::string* err) {
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER) < 0) return refuse(err, "cannot create a user namespace");
    // setgroups must be denied before an unprivileged gid_map write.
    std::string why;
    if (!write_file("/proc/self/setgroups", "deny", &why) ||
        !write_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1",
                    &why) ||
        !write_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1",
                    &why))
        return fail(err, "--enable-sandbox: " + why);
    return true;
}

bool enter_user_namespace(const Options& options, std::string* err) {
    UniqueFd userns;
    if (!target_user_namespace(options, &userns, err)) return false;
    if (!userns) return create_user_namespace(err);
    std::string why;
    if (!join_user_namespace(userns.get(), &why)) return fail(err, "--enable-sandbox: " + why);
    return true;
}

bool make_read_only(const std::string& path, std::string* err) {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    // AT_RECURSIVE: submounts too (the test's resolv.conf bind, /run/user/N).
    if (mount_setattr(AT_FDCWD, path.c_str(), AT_RECURSIVE, &attr, sizeof attr) < 0)
        return refuse(err, "cannot make " + path + " read-only");
    return true;
}

// From a root that is not a mount's own root (the daemon was started inside
// a plain chroot), the kernel refuses to change the propagation of "/": that
// mount's root lies above ours. Our namespace is then made private from its
// own root, reached by climbing out of our chroot for that one call: the
// namespace is new and ours alone, and the climb comes back before anything
// else is done.
bool make_private_from_namespace_root(std::string* err) {
    UniqueFd ours(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd cwd(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!ours || !cwd) return refuse(err, "cannot open / and the working directory");
    // A chroot below the working directory leaves it outside the root, so
    // ".." climbs to the namespace's root.
    if (chdir("/") < 0 || chroot(kStaging) < 0)
        return refuse(err, "cannot leave a root that is not a mount point");
    for (int hop = 0;; hop++) {
        struct stat here {};
        struct stat up {};
        if (stat(".", &here) < 0 || stat("..", &up) < 0)
            return refuse(err, "cannot find the mount namespace's root");
        if (here.st_dev == up.st_dev && here.st_ino == up.st_ino) break;
        if (hop == kMaxDepth || chdir("..") < 0)
            return refuse(err, "cannot find the mount namespace's root");
    }
    bool made_private =
        chroot(".") == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    int saved = errno;
    // The working directory too: relative socket paths are reopened later.
    if (fchdir(ours.get()) < 0 || chroot(".") < 0 || fchdir(cwd.get()) < 0)
        return refuse(err, "cannot return to our root");
    errno = saved;
    return made_private || refuse(err, "cannot make mounts private");
}

bool make_mounts_private(std::string* err) {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0) return true;
    if (errno != EINVAL) return refuse(err, "cannot make mounts private");
    return make_private_from_namespace_root(err);
}

// Enters the new root, whose top is the working directory. pivot_root(".",
// ".") stacks the old root on top of the new one, so it can be detached
// without a directory to park it in. Where pivot_root is refused, chroot
// into the same directory: weaker, since the old root stays mounted beneath
// it, but nothing of it is reachable from the new root (see enter_sandbox).
bool enter_new_root(SandboxRoot* root, std::vector<std::string>* notes, std::string* err) {
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        if (umount2(".", MNT_DETACH) < 0) return refuse(err, "cannot detach the old root");
        *root = SandboxRoot::PivotRoot;
        return true;
    }
    std::string refused = errno_text("pivot_root");
    if (chroot(".") < 0) return refuse(err, refused + "; chroot instead failed too");
    *root = SandboxRoot::Chroot;
    notes->push_back("--enable-sandbox: " + refused +
                     "; confined by chroot into the same root instead, which keeps the host's file "
                     "system mounted beneath it (weaker; see SECURITY in slirp4netns(1))");
    return true;
}

// Builds the new root on a tmpfs at kStaging and enters it; nothing else of
// the host's file system stays reachable from it.
bool enter_fresh_root(const std::vector<SocketFile*>& socket_files, SandboxRoot* root,
                      std::vector<std::string>* notes, std::string* err) {
    if (unshare(CLONE_NEWNS) < 0) return refuse(err, "cannot create a mount namespace");
    // Private first: nothing we mount may propagate back to the host, and
    // pivot_root refuses shared mounts.
    if (!make_mounts_private(err)) return false;
    // A directory descriptor opened before belongs to the old namespace and
    // names its whole tree, whichever way the new root is entered; here, in a
    // namespace of our own, it can be swapped for a copy that names only its
    // directory.
    for (SocketFile* file : socket_files) {
        std::string why;
        if (!file->narrow(&why))
            notes->push_back("--enable-sandbox: " + why +
                             "; the socket file's directory descriptor still names the host's "
                             "file system");
    }
    if (mount("tmpfs", kStaging, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0)
        return refuse(err, std::string("cannot mount a tmpfs on ") + kStaging);
    for (const char* dir : kKeptDirs) {
        struct stat st {};
        if (stat(dir, &st) < 0 && errno == ENOENT) continue;  // a host without /run
        std::string target = std::string(kStaging) + dir;
        if (mkdir(target.c_str(), 0755) < 0) return refuse(err, "cannot create " + target);
        // Read-only: the daemon writes nothing there (socket files are
        // removed through directory fds opened before the sandbox).
        // Recursive: submounts come along (a bind-mounted resolv.conf, a
        // resolver's tmpfs under /run); in a user namespace it is also the
        // only bind allowed over locked submounts.
        if (mount(dir, target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
            return refuse(err, std::string("cannot bind-mount ") + dir);
        if (!make_read_only(target, err)) return false;
    }
    if (chdir(kStaging) < 0) return refuse(err, std::string("cannot enter ") + kStaging);
    if (!enter_new_root(root, notes, err)) return false;
    // No working directory left outside the new root: with chroot, that
    // would be a way out.
    if (chdir("/") < 0) return refuse(err, "cannot enter the new root");
    if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) < 0)
        return refuse(err, "cannot make the new root read-only");
    return true;
}

bool has_effective(cap_value_t cap) {
    cap_t caps = cap_get_proc();
    if (caps == nullptr) return false;
    cap_flag_value_t value = CAP_CLEAR;
    cap_get_flag(caps, cap, CAP_EFFECTIVE, &value);
    cap_free(caps);
    return value == CAP_SET;
}

}  // namespace

// Bounding set first, while CAP_SETPCAP is still held; then ambient, then
// the process's own sets.
bool drop_capabilities(const std::vector<cap_value_t>& keep, std::string* err) {
    cap_value_t last = cap_max_bits();
    for (cap_value_t cap = 0; cap < last; cap++) {
        if (std::find(keep.begin(), keep.end(), cap) != keep.end()) continue;
        if (cap_drop_bound(cap) < 0 && errno != EINVAL)
            return refuse(
                err, "cannot drop capability " + std::to_string(cap) + " from the bounding set");
    }
    if (cap_reset_ambient() < 0) return refuse(err, "cannot clear the ambient capabilities");
    cap_t caps = cap_init();  // all three sets empty
    if (caps == nullptr) return refuse(err, "cap_init");
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
    return ok || refuse(err, "cannot drop capabilities");
}

bool resolv_conf_reachable(const std::string& start, std::string* err) {
    std::string path = start;
    std::string chain = start;
    for (int hop = 0; hop < kMaxSymlinkHops; hop++) {
        char target[PATH_MAX];
        ssize_t n = readlink(path.c_str(), target, sizeof target - 1);
        // Not a symlink (or absent): whatever is there, the bind of /etc
        // carries it, submounts included.
        if (n < 0) return true;
        target[n] = '\0';
        path = resolve_link_target(path, target);
        chain += " -> " + path;
        if (!is_under_kept_dir(path))
            return fail(err, "--enable-sandbox: " + chain +
                                 " leads outside /etc and /run, so DNS forwarding could not "
                                 "read it in the sandbox");
    }
    return fail(err, "--enable-sandbox: " + chain + ": too many levels of symbolic links");
}

const char* sandbox_root_name(SandboxRoot root) {
    switch (root) {
        case SandboxRoot::PivotRoot:
            return "pivot_root";
        case SandboxRoot::Chroot:
            return "chroot";
        case SandboxRoot::None:
            break;
    }
    return "none";
}

bool enter_sandbox(const Options& options, bool keep_net_admin,
                   const std::vector<SocketFile*>& socket_files, SandboxRoot* root,
                   std::vector<std::string>* notes, std::string* err) {
    check_leaks_before_confinement();
    const char* resolv = "/etc/resolv.conf";
    if (!resolv_conf_reachable(resolv, err)) return false;
    bool had_resolv = access(resolv, R_OK) == 0;
    // "Root" is whoever may already do the mount work here: root on the
    // host, root in podman's rootless user namespace, or the port-forwarding
    // helper that has joined the target's user namespace. Only they keep
    // CAP_NET_BIND_SERVICE, and only if they hold it now.
    bool privileged = has_effective(CAP_SYS_ADMIN);
    std::vector<cap_value_t> keep;
    if (privileged && has_effective(CAP_NET_BIND_SERVICE)) keep.push_back(CAP_NET_BIND_SERVICE);
    if (keep_net_admin && has_effective(CAP_NET_ADMIN)) keep.push_back(CAP_NET_ADMIN);
    if (!privileged && !enter_user_namespace(options, err)) return false;
    if (!enter_fresh_root(socket_files, root, notes, err)) return false;
    // The symlink check is lexical; this catches what it cannot see (a
    // directory symlink on the way, say).
    if (had_resolv && access(resolv, R_OK) < 0)
        return refuse(err, "/etc/resolv.conf is not readable inside the sandbox");
    // Capabilities last: the mount work above needed CAP_SYS_ADMIN (and
    // CAP_SYS_CHROOT, which must go: with it, a chroot below the working
    // directory leads out of ours). Rootless, CAP_NET_BIND_SERVICE would only
    // count in our own user namespace, not in the host's network namespace
    // where forwards listen, so nothing stays.
    if (!drop_capabilities(keep, err)) return false;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return refuse(err, "PR_SET_NO_NEW_PRIVS");
    return true;
}
