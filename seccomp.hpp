// SPDX-License-Identifier: GPL-2.0-or-later
// seccomp.hpp owns --enable-seccomp: an allowlist of the system calls the
// running loop needs, installed last, after the sandbox.
#pragma once

#include <string>

// Afterwards every system call outside the list fails with EPERM (the
// process is not killed), so the caller's ordinary error path reports it.
bool install_seccomp_filter(std::string* err);
