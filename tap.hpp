// tap.hpp owns getting the tap device: a short-lived child joins the target's
// user and network namespaces, creates the tap (and configures it with -c),
// and hands the fd back to the daemon, which never leaves the host namespace.
#pragma once

#include <string>

#include "options.hpp"
#include "unique_fd.hpp"

struct TapResult {
    UniqueFd fd;
    // With --netns-type=pid, a pidfd of the target process (when the kernel
    // has pidfd_open): it becomes readable when the target exits. The tap fd
    // pins the namespace, so the tap alone would never go away.
    UniqueFd target_process;
    std::string error;  // set when fd is invalid
};

// Honors --netns-type (pid, path, tapfd), --userns-path and --configure.
// The returned fd is non-blocking and close-on-exec.
TapResult open_tap(const Options& options);

// Opens namespace files for a target: shared with the port-forwarding helper,
// which must land in exactly the same namespaces as the tap.
struct TargetNamespaces {
    UniqueFd user;  // invalid when no user namespace needs joining
    UniqueFd net;
    std::string error;
};
TargetNamespaces open_target_namespaces(const Options& options);

// In a freshly forked child: joins the user namespace (if any), then the
// network namespace. Returns "" or the reason it failed.
std::string join_target_namespaces(const TargetNamespaces& ns);
