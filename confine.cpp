// SPDX-License-Identifier: GPL-2.0-or-later
// confine.cpp: sandbox, then seccomp (see confine.hpp).
#include "confine.hpp"

#include "sandbox.hpp"
#include "seccomp.hpp"

bool confine(const Options& options, bool keep_net_admin,
             const std::vector<SocketFile*>& socket_files, SandboxRoot* root,
             std::vector<std::string>* notes, std::string* err) {
    *root = SandboxRoot::None;
    if (options.enable_sandbox &&
        !enter_sandbox(options, keep_net_admin, socket_files, root, notes, err))
        return false;
    return !options.enable_seccomp || install_seccomp_filter(err);
}
