// sandbox.hpp owns --enable-sandbox: after the tap and the API socket exist,
// the daemon moves into a mount namespace whose root holds only /etc and
// /run, and drops the capabilities it no longer needs.
#pragma once

#include <string>

#include "options.hpp"

// Returns "" on success, else one line naming what failed.
std::string enter_sandbox(const Options& options);
