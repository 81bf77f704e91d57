// seccomp.hpp owns --enable-seccomp: an allowlist of the system calls the
// running loop needs, installed last, after the sandbox.
#pragma once

#include <string>

// Returns "" on success, else one line naming what failed.
std::string install_seccomp_filter();
