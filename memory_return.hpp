// SPDX-License-Identifier: GPL-2.0-or-later
// memory_return.hpp owns handing memory back to the system while the daemon
// runs: the code and read-only data of the program and its libraries once
// start-up is over, and again, with glibc's free lists, once traffic has
// gone quiet. The kernel TCP path's keeper child does the same with its
// code pages (redirect_keeper.cpp). A podman
// or rootlesskit helper lives as long as its container, mostly idle, so
// what it keeps resident then is what it costs.
#pragma once

#include <cstddef>

// Unmaps from this process the read-only segments (code, constants, symbol
// tables) of the executable and its libraries: option parsing, namespace
// setup and the sandbox run once, like a kernel's init sections. The pages
// stay in the page cache, and whatever still runs (the packet loop, the
// API) maps its pages again on first use. Writable and RELRO segments are
// never touched.
//
// Once is not enough. libslirp and libc bind their calls lazily: the first
// frame after start-up has libslirp call g_malloc and memcpy for the first
// time, and the dynamic linker's lookup of each reads the symbol tables of
// every library, which the kernel maps back 64 KiB at a time: about a
// third of the idle daemon's RSS. Released again when traffic has gone
// quiet, they stay out, as those calls are bound by then.
void release_read_only_pages();

// Returns the heap's free pages to the kernel (glibc keeps them otherwise).
void release_free_heap();

// Bytes of heap in use: when it changed, something was freed (or taken)
// since the last look, and there may be pages to give back.
size_t heap_in_use();
