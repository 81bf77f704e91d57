// memory_return.hpp owns handing memory back to the system while the daemon
// runs: the program's own code and read-only data once start-up is over,
// and glibc's free lists once traffic has gone quiet. A podman or
// rootlesskit helper lives as long as its container, mostly idle, so what
// it keeps resident after start-up is what it costs.
#pragma once

// Unmaps from this process the executable's read-only segments (code,
// constants, symbol tables): option parsing, namespace setup and the
// sandbox run once, like a kernel's init sections. The pages stay in the
// page cache, and whatever still runs (the packet loop, the API) maps its
// pages again on first use. Writable and RELRO segments are never touched.
void release_startup_pages();

// Returns the heap's free pages to the kernel (glibc keeps them otherwise).
void release_free_heap();
