// SPDX-License-Identifier: GPL-2.0-or-later
// namespaces.hpp owns finding and entering the target's namespaces: the tap
// child and the port-forwarding helper must land in exactly the same user
// and network namespaces, and the sandbox asks which user namespace owns the
// target. The daemon never enters the target's network namespace; a
// rootless --enable-sandbox joins its user namespace (sandbox.hpp).
#pragma once

#include <sys/types.h>

#include <string>

#include "options.hpp"
#include "unique_fd.hpp"

struct TargetNamespaces {
    UniqueFd user;  // invalid when no user namespace needs joining
    UniqueFd net;
};

// Opens the namespace files --netns-type and --userns-path name.
bool open_target_namespaces(const Options& options, TargetNamespaces* ns, std::string* err);

// In a freshly forked child: joins the user namespace (if any), then the
// network namespace.
bool join_target_namespaces(const TargetNamespaces& ns, std::string* err);

// Joins the target's user namespace (userns: a namespace file): what the tap
// child, the TCP namespace child and a rootless sandbox each do.
bool join_user_namespace(int userns, std::string* err);

// The refusal for a --netns-type=pid target that does not exist, worded like
// the original's failure on /proc/PID/ns/net, which scripts grep.
std::string no_such_process(pid_t pid);

// Whether the namespace file fd is the one at own_path
// ("/proc/self/ns/user", say).
bool same_namespace(int fd, const char* own_path);
