// SPDX-License-Identifier: GPL-2.0-or-later
// tcp_classifier.hpp owns the frame-level decisions of the kernel TCP path
// (kernel_tcp.hpp): which guest TCP segments it serves, the table of its
// flows, and the few rewrites a frame needs between the guest's tap and the
// private namespace's tap. Everything it does not claim goes to libslirp.
//
// The private namespace has one listener per address family on a fixed
// port (kKernelListenPort) and an AnyIP route, so it accepts a connection
// to any address on that port. Frames from the guest have their destination
// port rewritten to it, frames back have their source port restored: the
// flow table remembers the original. One listener serves every port, so no
// descriptors or helper round trips are spent per destination port.
//
// Pure functions and a table over byte buffers: unit-tested in
// tests/unit/test_tcp_classifier.cpp and fuzzed by tests/fuzz/fuzz_tcp_classifier.cpp.
#pragma once

#include <netinet/in.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "wire.hpp"

constexpr uint16_t kKernelListenPort = 1;

// Where a TCP segment sits in an Ethernet frame, and its identity.
struct TcpFrame {
    int family = 0;  // AF_INET or AF_INET6
    size_t ip = 14;  // offset of the IP header
    size_t tcp = 0;  // offset of the TCP header
    uint8_t flags = 0;
    uint32_t seq = 0;
    std::array<uint8_t, 16> src{}, dst{};  // the first 4 bytes for IPv4
    uint16_t sport = 0, dport = 0;
    size_t payload = 0;  // bytes after the TCP header, by the IP length (not padding)
    bool syn_only() const { return (flags & (kTcpSyn | kTcpAck | kTcpRst)) == kTcpSyn; }
};

// A TCP segment over IPv4 (not a fragment) or IPv6 (TCP as the first next
// header), whole inside len (wire.hpp's find_tcp). Anything else: false.
// With the TCP header already located (a guest frame's way to libslirp
// locates it once), the frame as find_tcp saw it.
bool parse_tcp_frame(const uint8_t* frame, const TcpView& tcp, TcpFrame* out);
inline bool parse_tcp_frame(const uint8_t* frame, size_t len, TcpFrame* out) {
    return parse_tcp_frame(frame, find_tcp(frame, len), out);
}

// The virtual network as the kernel path sees it.
struct KernelPathScope {
    in_addr network{}, netmask{}, gateway{}, dns{};
    bool ipv6 = false;
    in6_addr prefix6{}, gateway6{}, dns6{};  // a /64
    bool host_loopback = true;               // false under --disable-host-loopback
};

struct Options;
// The scope the options describe (--cidr, -6, --disable-host-loopback).
KernelPathScope kernel_path_scope(const Options& options);

// Whether a guest SYN to t.dst is the kernel path's: a source inside the
// virtual network, and a destination outside it (not multicast, broadcast,
// loopback or unspecified), or the gateway when it stands for the host's
// loopback. DNS and every other in-network address stay libslirp's.
bool kernel_serves(const KernelPathScope& scope, const TcpFrame& t);

// Where the host-side connection goes: the gateway is the host's loopback,
// every other address itself.
void host_destination(const KernelPathScope& scope, const TcpFrame& t, sockaddr_storage* out,
                      socklen_t* len);

// Rewrites the source (source = true) or destination port. With
// full_checksum the TCP checksum is updated incrementally; a partial one
// (the pseudo-header sum a segmenting tap leaves) covers no port.
void set_tcp_port(uint8_t* frame, const TcpFrame& t, bool source, uint16_t port,
                  bool full_checksum);

// Builds into out (at least kResetFrameSize bytes) the RST|ACK that answers
// a refused SYN, as libslirp sends it: addresses swapped, seq 0, ack seq+1.
// Returns the frame's length.
constexpr size_t kResetFrameSize = 14 + 40 + 20;
size_t build_reset(const uint8_t* syn_frame, const TcpFrame& syn, uint8_t* out);

// Builds into out (at least kUnreachableFrameSize bytes) the ICMP "network
// unreachable" (ICMPv6 "no route") that answers a SYN the path cannot serve
// at its limits, from the gateway (4 or 16 bytes), as libslirp answers at
// its own: the SYN's IP header and 8 bytes of TCP quoted. Returns the
// frame's length.
constexpr size_t kUnreachableFrameSize = 14 + 40 + 8 + 60 + 8;
size_t build_unreachable(const uint8_t* syn_frame, const TcpFrame& syn, const uint8_t* gateway,
                         uint8_t* out);

// libslirp gives each IPv6 address of the virtual network a MAC of its own
// (52:56 and the address's last 4 bytes), which it announces in NDP: the
// gateway's differs from its IPv4 one. Kernel-to-kernel delivery needs
// every frame the guest sends there addressed to the one MAC the veth
// carries (tc_redirect.hpp), so the link-layer address options of the
// router advertisements, neighbour solicitations and advertisements going
// to the guest are made that MAC (libslirp takes frames to any MAC).
// Returns whether frame is such a message (and was rewritten, checksum and
// all).
bool rewrite_ndp_mac(uint8_t* frame, size_t len, const std::array<uint8_t, 6>& mac);
bool is_ndp(const uint8_t* frame, size_t len);

// A flow as both sides name it: the guest's address and port, the remote
// address and port. With the daemon bridging frames, the private kernel
// sees every flow on one port (see the top): FlowTable::find_any_port
// finds a flow whatever its remote port, and no two flows differ in it
// alone.
struct FlowKey {
    uint8_t family = 0;
    std::array<uint8_t, 16> guest{}, remote{};
    uint16_t guest_port = 0;
    uint16_t remote_port = 0;
    auto operator<=>(const FlowKey&) const = default;
};
FlowKey key_from_guest(const TcpFrame& t);  // a frame the guest sent
FlowKey key_to_guest(const TcpFrame& t);    // a frame the private namespace sent

// The kernel path's flows, bounded. Each entry is a connection handed to
// (or being set up for) the private namespace; kernel_tcp.cpp keeps the
// descriptors under the same id.
class FlowTable {
   public:
    enum class State { Connecting, Open, Closing };
    struct Flow {
        uint64_t id = 0;
        uint16_t remote_port = 0;
        std::array<uint8_t, 6> guest_mac{};
        State state = State::Connecting;
        bool fin_from_guest = false, fin_to_guest = false;
        int64_t last_ms = 0;   // the last frame either way
        int64_t close_ms = 0;  // Closing: when the entry goes
    };
    // How long a closed flow stays to carry the last ACKs and retransmits.
    static constexpr int64_t kLingerMs = 30 * 1000;

    explicit FlowTable(size_t capacity) : capacity_(capacity) {}

    // nullptr when the key is taken, or the table is full and no flow is
    // Closing. A full table makes room by erasing the flow that began
    // closing first (it only waits for its last ACKs), so a guest that opens
    // and closes connections quickly never runs out of room; *evicted is
    // that flow's id, 0 when none went.
    Flow* add(const FlowKey& key, uint16_t remote_port, const uint8_t* guest_mac, int64_t now_ms,
              uint64_t* evicted = nullptr);
    Flow* find(const FlowKey& key);
    // The flow with key's addresses and guest port, whatever its remote
    // port; its full key in *found.
    Flow* find_any_port(const FlowKey& key, FlowKey* found = nullptr);
    const Flow* find_id(uint64_t id) const;
    bool erase(const FlowKey& key);
    bool erase_id(uint64_t id);
    size_t size() const { return flows_.size(); }

    // Follows a segment's flags on the flow under key: a reset closes the
    // flow at once; FINs both ways start the linger. Returns true when the
    // entry is to be erased now.
    bool note_flags(const FlowKey& key, Flow& f, uint8_t flags, bool from_guest, int64_t now_ms);

    // Calls done(id) for, and erases, every Closing flow past its time.
    template <typename Done>
    void expire(int64_t now_ms, Done done) {
        for (auto it = flows_.begin(); it != flows_.end();) {
            if (it->second.state == State::Closing && it->second.close_ms <= now_ms) {
                done(it->second.id);
                it = flows_.erase(it);
            } else {
                ++it;
            }
        }
        while (!closing_.empty() && !still_closing(closing_.front())) closing_.pop_front();
    }

   private:
    struct Closed {
        uint64_t id;
        FlowKey key;
    };
    bool still_closing(const Closed& c);
    bool evict_oldest_closing(uint64_t* evicted);

    size_t capacity_;
    uint64_t next_id_ = 1;
    std::map<FlowKey, Flow> flows_;
    // Flows in the order they began closing; entries of flows gone since
    // are skipped (and dropped when they outnumber the table).
    std::deque<Closed> closing_;
};
