// SPDX-License-Identifier: GPL-2.0-or-later
// confine.cpp: sandbox, then seccomp (see confine.hpp).
#include "confine.hpp"

#include "sandbox.hpp"
#include "seccomp.hpp"

bool confine(const Options& options, bool keep_net_admin, SandboxRoot* root, std::string* note,
             std::string* err) {
    *root = SandboxRoot::None;
    if (options.enable_sandbox && !enter_sandbox(options, keep_net_admin, root, note, err))
        return false;
    return !options.enable_seccomp || install_seccomp_filter(err);
}
