// SPDX-License-Identifier: GPL-2.0-or-later
// allocation.cpp owns the program's global operator new and delete. They do
// what libstdc++'s do (malloc, free, std::bad_alloc), but libstdc++'s copies
// sit at the far end of the static binary, and every event-loop cycle that
// allocates would keep that code window resident in an idle daemon. Here
// they go to .text.hot, next to the event loop and packet path (see
// memory_return.hpp). Sanitizer builds keep the sanitizer's own versions
// (GCC says so with __SANITIZE_ADDRESS__, clang with __has_feature).
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S4N_ADDRESS_SANITIZER 1
#endif
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(S4N_ADDRESS_SANITIZER)

#include <cstdlib>
#include <new>

[[gnu::hot]] void* operator new(std::size_t size) {
    if (size == 0) size = 1;
    if (void* p = std::malloc(size)) return p;
    throw std::bad_alloc();
}

[[gnu::hot]] void* operator new[](std::size_t size) {
    return ::operator new(size);
}

[[gnu::hot]] void operator delete(void* p) noexcept {
    std::free(p);
}
[[gnu::hot]] void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
[[gnu::hot]] void operator delete[](void* p) noexcept {
    std::free(p);
}
[[gnu::hot]] void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}

#endif
