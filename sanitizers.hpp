// SPDX-License-Identifier: GPL-2.0-or-later
// sanitizers.hpp owns what sanitizer builds (make check-asan) need from the
// confinement code and the fences in front of libslirp; in normal builds
// everything here compiles to nothing.
#pragma once

#include <cstdlib>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define S4N_SANITIZED_BUILD 1
#else
#define S4N_SANITIZED_BUILD 0
#endif

// LeakSanitizer's end-of-process check stops the world with clone+ptrace and
// reads /proc, which neither the sandbox nor the seccomp filter allows. So a
// process about to confine itself checks for leaks now, which also turns the
// exit-time check off; ASan and UBSan keep working to the end.
inline void check_leaks_before_confinement() {
#if S4N_SANITIZED_BUILD
    __lsan_do_leak_check();
#endif
}

// Whether the fence `name` (e.g. "urgent-data") is to stay off: a regression
// test runs the sanitizer build with S4N_TEST_UNFENCED=name to show the harm
// the fence prevents, under ASan. Sanitizer builds are test artifacts (make
// asan-build, never installed); a normal build has no switch and reads no
// environment for it, so no user can turn a fence off.
inline bool fence_switched_off_for_test([[maybe_unused]] const char* name) {
#if S4N_SANITIZED_BUILD
    const char* off = std::getenv("S4N_TEST_UNFENCED");
    return off && std::strstr(off, name);
#else
    return false;
#endif
}
