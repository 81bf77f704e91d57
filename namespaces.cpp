// SPDX-License-Identifier: GPL-2.0-or-later
// namespaces.cpp: opening and joining the target's namespaces (see
// namespaces.hpp).
#include "namespaces.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <cerrno>

#include "error.hpp"

namespace {

UniqueFd open_namespace(const std::string& path) {
    return UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

}  // namespace

std::string no_such_process(pid_t pid) {
    std::string ns = "/proc/" + std::to_string(pid) + "/ns/net";
    return "no process with PID " + std::to_string(pid) + " (" + errno_text(ns, ENOENT) + ")";
}

bool same_namespace(int fd, const char* own_path) {
    struct stat theirs {};
    struct stat ours {};
    if (fstat(fd, &theirs) < 0 || stat(own_path, &ours) < 0) return false;
    return theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

bool open_target_namespaces(const Options& options, TargetNamespaces* ns, std::string* err) {
    std::string net_path = options.target;
    std::string user_path = options.userns_path;
    if (options.netns_type == NetnsType::Pid) {
        std::string proc = "/proc/" + std::to_string(options.target_pid) + "/ns/";
        net_path = proc + "net";
        if (user_path.empty()) user_path = proc + "user";
    }
    // The original's words for a missing path are kept: scripts grep them.
    ns->net = open_namespace(net_path);
    if (!ns->net) {
        if (options.netns_type == NetnsType::Pid && errno == ENOENT)
            return fail(err, no_such_process(options.target_pid));
        if (errno == ENOENT)
            return fail(err, errno_text("existing path expected when --netns-type=path: \"" +
                                            net_path + "\"",
                                        ENOENT));
        return fail(err, errno_text("cannot open network namespace \"" + net_path + "\""));
    }
    if (user_path.empty()) return true;
    ns->user = open_namespace(user_path);
    if (!ns->user) {
        if (errno == ENOENT) return fail(err, "userns path doesn't exist: \"" + user_path + "\"");
        return fail(err, errno_text("cannot open user namespace \"" + user_path + "\""));
    }
    // Joining our own user namespace is an error (EINVAL), and not needed.
    if (same_namespace(ns->user.get(), "/proc/self/ns/user")) ns->user.reset();
    return true;
}

bool join_user_namespace(int userns, std::string* err) {
    if (setns(userns, CLONE_NEWUSER) < 0)
        return fail(err, errno_text("cannot join the target's user namespace"));
    return true;
}

bool join_target_namespaces(const TargetNamespaces& ns, std::string* err) {
    if (ns.user && !join_user_namespace(ns.user.get(), err)) return false;
    if (setns(ns.net.get(), CLONE_NEWNET) < 0)
        return fail(err, errno_text("cannot join the target's network namespace"));
    return true;
}
