// SPDX-License-Identifier: GPL-2.0-or-later
// memory_return.cpp: giving memory back after start-up and after bursts of
// traffic (see memory_return.hpp).
#include "memory_return.hpp"

#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

namespace {

struct Range {
    uintptr_t start;
    uintptr_t end;
};

struct Collection {
    bool first = true;
    std::vector<Range> ranges;
};

// Collects the ranges first and releases them afterwards: releasing while
// reading program headers would fault their pages straight back in.
int find_read_only_segments(dl_phdr_info* info, size_t, void* data) {
    auto& c = *static_cast<Collection*>(data);
    // The executable comes first, nameless; the vDSO has no file behind it.
    bool executable = c.first;
    c.first = false;
    if (!executable && (info->dlpi_name == nullptr || info->dlpi_name[0] != '/')) return 0;
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        // PT_GNU_RELRO lies inside a writable PT_LOAD: skipping those keeps
        // the relocated pages, which the file no longer matches.
        if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W)) continue;
        uintptr_t start = info->dlpi_addr + ph.p_vaddr;
        uintptr_t end = start + ph.p_memsz;
        start = (start + page - 1) & ~(page - 1);  // only whole pages of this segment
        end &= ~(page - 1);
        if (end > start) c.ranges.push_back({start, end});
    }
    return 0;
}

}  // namespace

void release_read_only_pages() {
    Collection c;
    c.ranges.reserve(64);
    dl_iterate_phdr(find_read_only_segments, &c);
    for (const Range& r : c.ranges)
        madvise(reinterpret_cast<void*>(r.start), r.end - r.start, MADV_DONTNEED);
}

void release_free_heap() {
    malloc_trim(0);
}

size_t heap_in_use() {
    return mallinfo2().uordblks;
}
