// SPDX-License-Identifier: GPL-2.0-or-later
// kernel_udp.hpp owns the kernel UDP path: the guest's UDP datagrams to the
// outside (and to the gateway, which stands for the host's loopback) leave
// through host UDP sockets of the daemon's own instead of libslirp's, and
// the replies come back as frames built here.
//
// Theory of operation. The packet path offers every whole guest frame
// (after IPv4 reassembly and the DNS forwarder) to from_guest() before
// libslirp sees it. A UDP datagram from a guest address inside the virtual
// network to an address outside it (not multicast, broadcast, loopback,
// unspecified or link-local), or to the gateway unless
// --disable-host-loopback, is taken; DHCP, DHCPv6, TFTP and everything to
// other in-network addresses stay libslirp's, as do datagrams from a guest
// port that a slirp-mode UDP forward owns (libslirp's socket for that
// forward must see the guest's answers).
//  - Mapping and filtering are endpoint-independent, as libslirp's: one
//    unconnected host socket per (family, guest address, guest port),
//    bound to --outbound-addr / --outbound-addr6 when given (libslirp
//    4.7.0's udp_attach binds the same way), sends to every destination
//    the guest names and takes replies from any peer, which reach the
//    guest from that peer's address (the gateway's for the host's
//    loopback). STUN and peer-to-peer traffic depend on this.
//  - Replies are read in batches (recvmmsg) straight into a buffer with
//    room in front for the Ethernet, IP and UDP headers, which are written
//    there: one copy, kernel to frame. Where the device takes virtio-net
//    headers, a run of a batch's replies from one peer of one size (the
//    last may be shorter) goes as one frame with a UDP GSO header, which
//    the guest's kernel cuts back into those datagrams: one device write
//    and one pass through the guest's stack for up to a batch.
//    There the sockets set UDP_GRO too: a peer's GSO write arrives whole
//    and goes on as one such frame.
//  - ICMP errors: the sockets have IP_RECVERR / IPV6_RECVERR (as libslirp
//    sets them); an error in the queue (port unreachable, say) goes to the
//    guest as an ICMP or ICMPv6 error from the gateway quoting the
//    datagram's IP and UDP headers, so a connected guest socket gets
//    ECONNREFUSED as it does with libslirp.
//  - Bounds: at most max_flows sockets, and half the descriptor limit (a
//    new one past it ends the least recently used); a flow idle for libslirp's UDP timeout
//    (SO_EXPIRE, 240 s; both directions refresh it) ends, on the loop's clock. A flood to any
//    number of destinations from one guest port costs one socket.
//  - A datagram that cannot go (a full send buffer, no socket to be had, a
//    reply too large for the guest's MTU) is dropped and counted; one the
//    host refuses to send otherwise (no route) is answered with ICMP network
//    unreachable, as libslirp answers a failed send.
#pragma once

#include <netinet/in.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>

#include "event_loop.hpp"
#include "guest_output.hpp"
#include "outbound.hpp"
#include "stats.hpp"
#include "tcp_classifier.hpp"
#include "unique_fd.hpp"
#include "vnet.hpp"

// A UDP datagram in an Ethernet frame: IPv4 (not a fragment) or IPv6 (UDP
// as the first next header), whole inside the frame.
struct UdpDatagram {
    int family = 0;                        // AF_INET or AF_INET6
    std::array<uint8_t, 16> src{}, dst{};  // the first 4 bytes for IPv4
    uint16_t sport = 0, dport = 0;
    size_t payload = 0;  // offset of the payload in the frame
    size_t payload_len = 0;
};

// Parses frame; false for anything else, or a datagram whose UDP checksum
// (when present) is wrong: libslirp drops those, and then does. Without
// check, the checksum is not looked at (the guest's kernel left it partial:
// nothing is wrong with a datagram that never left its memory).
bool parse_udp_frame(const uint8_t* frame, size_t len, UdpDatagram* out, bool check = true);

// Whether the kernel UDP path takes d (see the top).
bool kernel_udp_serves(const KernelPathScope& scope, const UdpDatagram& d);

// The bytes in front of a payload that build_udp_frame writes.
constexpr size_t udp_frame_headroom(int family) {
    return 14 + (family == AF_INET6 ? 40 : 20) + 8;
}
// Writes the Ethernet, IP and UDP headers (checksum included) in front of
// the payload_len bytes at payload (udp_frame_headroom(family) bytes of
// room there); returns where the frame starts. Addresses: 4 or 16 bytes.
// partial: the checksum field gets the pseudo-header sum a virtio-net
// header's NEEDS_CSUM asks for (udp_partial_header) instead: the payload
// is not summed here at all.
uint8_t* build_udp_frame(uint8_t* payload, size_t payload_len, int family, const uint8_t* dst_mac,
                         const uint8_t* src_mac, const uint8_t* src, uint16_t sport,
                         const uint8_t* dst, uint16_t dport, bool partial = false);
// The virtio-net header of such a partial frame.
VnetHeader udp_partial_header(int family);

// An ICMP or ICMPv6 error about a datagram the guest sent, from `from` (the
// gateway) to the guest.
struct UdpErrorFrame {
    int family = 0;
    uint8_t type = 0, code = 0;
    uint32_t info = 0;  // the MTU, for "fragmentation needed" and "packet too big"
    const uint8_t* guest_mac = nullptr;
    const uint8_t* gateway_mac = nullptr;
    const uint8_t* from = nullptr;
    const uint8_t* guest = nullptr;  // the datagram's source
    uint16_t guest_port = 0;
    const uint8_t* dst = nullptr;  // its destination as the guest named it
    uint16_t dport = 0;
    const uint8_t* payload = nullptr;  // what of its payload is known
    size_t payload_len = 0;            // its whole length
    size_t payload_known = 0;          // bytes at payload
};
// Bytes of the datagram's payload quoted after its headers.
constexpr size_t kUdpErrorQuote = 64;
constexpr size_t kUdpErrorFrameSize = 14 + 40 + 8 + 40 + 8 + kUdpErrorQuote;
// Builds the error into out (kUdpErrorFrameSize bytes); returns its length.
size_t build_udp_error(const UdpErrorFrame& e, uint8_t* out);

class KernelUdpPath {
   public:
    struct Settings {
        KernelPathScope scope;
        OutboundAddresses outbound;
        unsigned mtu = 1500;          // the guest's
        bool fragments_ipv4 = false;  // the output fragments IPv4 above it (a virtio-net tap)
        // The device takes virtio-net headers: replies that fit the MTU go
        // with their checksum left partial. The guest's kernel trusts it
        // on local delivery (and completes it when forwarding), so the
        // payload is never summed here; and runs of them go as one GSO
        // frame (GuestOutput::send_segments).
        bool partial_checksums = false;
        size_t max_flows = 4096;
        int64_t idle_ms = 240 * 1000;  // libslirp's SO_EXPIRE
    };
    KernelUdpPath(EventLoop& loop, Settings settings, GuestOutput& output);
    ~KernelUdpPath();
    KernelUdpPath(const KernelUdpPath&) = delete;
    KernelUdpPath& operator=(const KernelUdpPath&) = delete;

    // A whole frame from the guest: true when the path took it (sent, or
    // dropped and counted), false when it goes on to libslirp.
    // checksum_partial: the guest's tap said its checksum is yet to be
    // computed (NEEDS_CSUM); the payload then goes without being summed.
    // gso_size: the frame is a UDP GSO one (vnet.hpp) of datagrams of that
    // many payload bytes; they go in one send with UDP_SEGMENT, or one by
    // one where the host refuses that.
    bool from_guest(const uint8_t* frame, size_t len, bool checksum_partial = false,
                    uint16_t gso_size = 0);

    // Datagrams whose frames lie within [begin, end) (a ring's memory,
    // whose frames stay as they are until send_gathered) may wait to go
    // several to one send: a run of one flow's datagrams of one size to one
    // destination goes with UDP_SEGMENT, which the host cuts (or hands
    // whole to a UDP_GRO receiver).
    void gather_within(const uint8_t* begin, const uint8_t* end) {
        run_.begin = begin;
        run_.end = end;
    }
    // Sends what waits; before the frames it lies in change.
    void send_gathered();

    // Calls busy, once, when the path has taken `datagrams` more from the
    // guest than it has so far.
    void when_taken(uint64_t datagrams, std::function<void()> busy) {
        busy_at_ = counters_.datagrams_from_guest + datagrams;
        busy_ = std::move(busy);
    }

    // A slirp-mode UDP forward to this guest port came or went: datagrams
    // from it are libslirp's while one exists.
    void slirp_forward(uint16_t guest_port, bool added);

    const KernelUdpCounters& counters() const { return counters_; }

   private:
    struct Key {
        uint8_t family = 0;
        std::array<uint8_t, 16> guest{};
        uint16_t port = 0;
        auto operator<=>(const Key&) const = default;
    };
    struct Flow {
        Key key;
        UniqueFd fd;
        std::array<uint8_t, 6> guest_mac{}, gateway_mac{};
        int64_t last_ms = 0;
        std::list<uint64_t>::iterator lru;  // in lru_, most recent first
    };

    Flow* flow_for(const UdpDatagram& d, const uint8_t* frame);
    UniqueFd open_socket(int family);
    void touch(Flow& f);
    void close_flow(uint64_t id);
    void on_socket(uint64_t id, short revents);
    // A reply read, its ordinary frame built in front of its payload.
    struct Reply {
        uint8_t* frame = nullptr;
        size_t len = 0;  // the payload's
        std::array<uint8_t, 16> from{};
        uint16_t port = 0;
        bool partial = false;  // its checksum left to the guest's kernel
        // Several datagrams of this size one after the other, as a GSO
        // sender wrote them and UDP_GRO kept them; 0: one datagram.
        size_t segment = 0;
    };
    void read_replies(Flow& f);
    void read_errors(Flow& f);
    bool prepare(Flow& f, uint8_t* payload, size_t len, size_t segment,
                 const sockaddr_storage& peer, Reply* r);
    static size_t gro_segment(msghdr& h);
    void send_run(Flow& f, const Reply* run, size_t count);
    void send_one(const Reply& r, int family);
    void send_bundle(Flow& f, const Reply& r);
    void answer_unreachable(const Flow& f, const UdpDatagram& d, const uint8_t* frame);
    bool send_gso(Flow& f, const UdpDatagram& d, const uint8_t* frame, uint16_t gso_size,
                  const sockaddr_storage& to, socklen_t to_len);
    void send_datagram(Flow& f, const UdpDatagram& d, const uint8_t* frame,
                       const sockaddr_storage& to, socklen_t to_len);
    bool gather(const Flow& f, const UdpDatagram& d, const uint8_t* frame,
                const sockaddr_storage& to, socklen_t to_len);
    void arm_expiry();
    void expire();

    EventLoop& loop_;
    Settings settings_;
    GuestOutput& output_;
    KernelUdpCounters counters_;
    uint64_t next_id_ = 1;
    std::map<uint64_t, Flow> flows_;
    std::map<Key, uint64_t> by_key_;
    std::list<uint64_t> lru_;
    std::map<uint16_t, int> slirp_forwards_;  // guest port, forwards to it
    EventLoop::TimerId expiry_ = 0;
    // The run begin_gathering lets wait (see there).
    struct Run {
        const uint8_t *begin = nullptr, *end = nullptr;  // where frames may lie
        uint64_t flow = 0;                               // its id; 0: no run
        sockaddr_storage to{};
        socklen_t to_len = 0;
        size_t segment = 0;  // the first datagram's length
        size_t bytes = 0;
        bool ended = false;  // a shorter datagram came last
        static constexpr size_t kMost = 64;
        size_t count = 0;
        std::array<const uint8_t*, kMost> frames{};
        std::array<UdpDatagram, kMost> datagrams{};
    };
    Run run_;
    uint64_t busy_at_ = 0;
    std::function<void()> busy_;
    // The replies' batch, mapped when the first flow opens: its pages are
    // touched only as large datagrams fill them.
    struct Unmap {
        void operator()(uint8_t* p) const;
    };
    std::unique_ptr<uint8_t[], Unmap> buffer_;
};
