// SPDX-License-Identifier: GPL-2.0-or-later
// fuzz_check.hpp: the fuzz targets' invariant check: a violated invariant
// aborts, which libFuzzer reports as a crash and saves as a reproducer.
#pragma once

#include <cstdio>
#include <cstdlib>

inline void check(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
}
