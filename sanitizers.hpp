// sanitizers.hpp owns what sanitizer builds (make check-asan) need from the
// confinement code; in normal builds everything here compiles to nothing.
#pragma once

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
