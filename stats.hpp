// stats.hpp owns the counters the daemon keeps for the API's get_stats.
// Plain integers: the loop is single-threaded, so no atomics are needed.
#pragma once

#include <cstdint>

struct Stats {
    uint64_t frames_from_guest = 0;
    uint64_t bytes_from_guest = 0;
    uint64_t frames_to_guest = 0;
    uint64_t bytes_to_guest = 0;
    uint64_t frames_dropped = 0;  // frames the tap would not take
    uint64_t api_requests = 0;
    uint64_t api_failures = 0;
    int64_t started_ms = 0;  // EventLoop::now_ms() at start-up
};
