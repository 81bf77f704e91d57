// SPDX-License-Identifier: GPL-2.0-or-later
// stats.hpp owns the counters the daemon keeps for the API's get_stats.
// Plain integers: the loop is single-threaded, so no atomics are needed.
#pragma once

#include <cstdint>
#include <functional>

struct KernelTcpCounters {
    uint64_t active = 0;   // connections relayed now
    uint64_t total = 0;    // connections it took
    uint64_t refused = 0;  // host connects refused
    uint64_t failed = 0;   // host connects failed otherwise
    uint64_t bytes_from_guest = 0;
    uint64_t bytes_to_guest = 0;
    bool redirect = false;   // kernel-to-kernel delivery (else the daemon bridges frames)
    uint64_t listeners = 0;  // open in the private namespace (kernel-to-kernel delivery)
};

// The kernel UDP path (kernel_udp.hpp), when it runs.
struct KernelUdpCounters {
    uint64_t flows = 0;  // host sockets open now, one per guest address and port
    uint64_t datagrams_from_guest = 0;
    uint64_t datagrams_to_guest = 0;
    uint64_t bytes_from_guest = 0;  // payload bytes
    uint64_t bytes_to_guest = 0;
    uint64_t dropped = 0;              // either way: a full socket buffer, no socket, too large
    uint64_t gso_frames_to_guest = 0;  // frames carrying a run of replies, cut by the guest
    uint64_t runs_from_guest = 0;      // sends carrying a run gathered from the ring
};

// The DNS forwarder (dns_forwarder.hpp), when it runs.
struct DnsCounters {
    uint64_t queries = 0;    // taken from the guest, UDP and TCP
    uint64_t answers = 0;    // nameservers' answers passed on
    uint64_t failovers = 0;  // ... of those, from a server other than the first tried
    uint64_t servfails = 0;  // SERVFAILs made here: no server answered
    uint64_t dropped = 0;    // past the bound of queries in flight
};

struct Stats {
    uint64_t frames_from_guest = 0;
    uint64_t bytes_from_guest = 0;
    uint64_t frames_to_guest = 0;
    uint64_t bytes_to_guest = 0;
    uint64_t frames_dropped = 0;  // frames the tap would not take
    uint64_t api_requests = 0;
    uint64_t api_failures = 0;
    int64_t started_ms = 0;  // the loop's clock_ms() at start-up
    // The kernel TCP path (kernel_tcp.hpp), when it runs.
    bool kernel_tcp = false;
    // How --enable-sandbox confined the daemon (sandbox_root_name).
    const char* sandbox = "none";
    KernelTcpCounters kernel;
    bool dns_forwarder = false;
    DnsCounters dns;
    bool kernel_udp = false;
    // The guest's UDP comes by the UDP veth's ring (frame_ring.hpp): frames
    // read there, and those lost there.
    bool udp_redirect = false;
    uint64_t udp_redirected_frames = 0;
    uint64_t udp_redirect_drops = 0;
    uint64_t udp_ring_lingers = 0;
    const KernelUdpCounters* udp = nullptr;  // the path's own, while it runs
    // Brings counters that live elsewhere up to date before they are read.
    std::function<void(Stats&)> refresh;
};
