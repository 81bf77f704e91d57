// SPDX-License-Identifier: GPL-2.0-or-later
// sandbox.hpp owns --enable-sandbox: after the tap and the API socket exist,
// the daemon moves into a mount namespace whose root holds only /etc and
// /run, and drops the capabilities it no longer needs.
#pragma once

#include <sys/capability.h>

#include <string>
#include <vector>

#include "options.hpp"
#include "unix_socket.hpp"

// How the sandbox's root was entered.
enum class SandboxRoot {
    None,       // no --enable-sandbox
    PivotRoot,  // the old root detached
    Chroot,     // pivot_root refused: the old root stays beneath
};

// "none", "pivot_root", "chroot": the names get_stats reports.
const char* sandbox_root_name(SandboxRoot root);

// Must be called while the process is single-threaded (joining a user
// namespace requires it).
//
// Rootless (without CAP_SYS_ADMIN), the process first joins the target's user
// namespace (or, when there is none other than its own, e.g. tapfd or BESS, a
// fresh one mapping only its own ids) so that the mount work is permitted; it
// then holds no capability at all. As root (or root of podman's user
// namespace) it stays in its user namespace and keeps only
// CAP_NET_BIND_SERVICE, so that port forwards added later through the API may
// still use ports below 1024. Then: a new mount namespace whose root is a
// read-only tmpfs holding only /etc and /run (recursive, read-only binds),
// pivot_root, the old root detached, no-new-privs. keep_net_admin (the
// port-forwarding helper, for transparent forwards) also keeps CAP_NET_ADMIN,
// which there counts only in the target's own network namespace.
//
// Where pivot_root is refused (an initramfs root, a root that is not a mount
// point, an LSM that forbids it), the process chroots into the same tmpfs
// instead: *root says which, and a line to log joins *notes. The
// host's tree then stays mounted beneath the root; what keeps the process in
// is that no path leads out (no /proc, no working directory outside) and
// that the capabilities that undo a chroot (CAP_SYS_CHROOT, CAP_SYS_ADMIN)
// are dropped here.
//
// socket_files: the socket files the process keeps to remove at exit; their
// directory descriptors are narrowed (SocketFile::narrow) in the new mount
// namespace, else they would name the host's whole tree in either case. One
// that cannot be is kept as it is, with a line in *notes.
bool enter_sandbox(const Options& options, bool keep_net_admin,
                   const std::vector<SocketFile*>& socket_files, SandboxRoot* root,
                   std::vector<std::string>* notes, std::string* err);

// False, with the reason, when /etc/resolv.conf would become unreadable in
// the sandbox: a symlink, or a chain of them, leading outside /etc and /run.
// The path is a parameter for unit tests; the daemon checks /etc/resolv.conf.
// Drops every capability but those in keep, from every set (the bounding
// set too, so none comes back).
bool drop_capabilities(const std::vector<cap_value_t>& keep, std::string* err);

bool resolv_conf_reachable(const std::string& path, std::string* err);
