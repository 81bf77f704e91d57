// SPDX-License-Identifier: GPL-2.0-or-later
// confine.hpp owns the order of confinement that the daemon and its
// port-forwarding helper both go through once their set-up is done:
// --enable-sandbox (sandbox.hpp), then --enable-seccomp (seccomp.hpp), which
// must come last since the filter forbids what the sandbox does.
#pragma once

#include <string>

#include "options.hpp"
#include "sandbox.hpp"

// Applies whichever of the two options asks for; a no-op without them.
// keep_net_admin, *root and *note: see enter_sandbox.
bool confine(const Options& options, bool keep_net_admin, SandboxRoot* root, std::string* note,
             std::string* err);
