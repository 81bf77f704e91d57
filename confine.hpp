// SPDX-License-Identifier: GPL-2.0-or-later
// confine.hpp owns the order of confinement that the daemon and its
// port-forwarding helper both go through once their set-up is done:
// --enable-sandbox (sandbox.hpp), then --enable-seccomp (seccomp.hpp), which
// must come last since the filter forbids what the sandbox does.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"
#include "sandbox.hpp"

// Applies whichever of the two options asks for; a no-op without them.
// keep_net_admin, socket_files, *root and *notes: see enter_sandbox.
bool confine(const Options& options, bool keep_net_admin,
             const std::vector<SocketFile*>& socket_files, SandboxRoot* root,
             std::vector<std::string>* notes, std::string* err);
