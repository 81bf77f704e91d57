// SPDX-License-Identifier: GPL-2.0-or-later
// kernel_tcp.hpp owns the kernel TCP path: the guest's TCP connections to
// the outside (and to the gateway, which stands for the host's loopback)
// end in a kernel TCP stack in a private network namespace of ours
// (private_netns.hpp) instead of libslirp's, and their bytes are spliced
// between the socket accepted there and a socket the daemon connected from
// the host namespace (the relay, splice_relay.hpp).
//
// Theory of operation. The packet path offers every frame from the guest
// to from_guest() before libslirp sees it (tcp_classifier.hpp decides):
//  - a SYN to a destination the path serves is held, and a non-blocking
//    connect() to the same destination (with libslirp's mapping and
//    --outbound-addr binding) starts from the host namespace. A connect that
//    fails at once hands the SYN back to libslirp, which fails the same way
//    and answers the guest as it always has (RST or ICMP unreachable). Once
//    the connect succeeds the SYN goes to the private tap, the private
//    kernel answers the handshake, and its listener accepts; the accepted
//    socket and the host socket are then joined by splice(2). A connect
//    refused later answers the SYN with a RST; one that fails otherwise
//    later (no ARP answer, a timeout) goes unanswered, as with libslirp.
//    Retransmitted SYNs while the connect is pending are absorbed.
//  - later frames of the flow go to the private tap, frames from the tap go
//    to the guest; only Ethernet addresses and the destination port change.
//  - a SYN to the DNS address, port 53, is taken the same way, but its
//    "host socket" is a stream the DNS forwarder serves (dns_forwarder.hpp)
//    instead of a connect.
//  - everything else is libslirp's (or, for UDP DNS, the forwarder's).
// The path starts before its namespace is ready (private_netns.hpp: the
// daemon does not hold ready-fd back for it). Meanwhile SYNs are taken and
// their host connects started as above; a connect that succeeds waits with
// its SYN for attach(). Should the namespace fail, give_up() hands every
// held SYN to libslirp, which then serves those connections from the start.
// Descriptors: a connection holds its host socket and, until the private
// listener accepts, one reserved descriptor (a duplicate), closed just in
// time for the accept. A connection for which that reserve cannot be had
// (the descriptor limit is near) is not taken: libslirp, needing one
// descriptor where this path needs two, takes it or answers the guest as it
// does at the limit. Without the reserve the host socket could take the
// last descriptor, the private kernel would complete the guest's handshake,
// and the accept would then fail: a connection the guest thinks open that
// never moves a byte, and a listener that stays readable. One more reserve
// is kept for accepting (and so resetting) what no flow owns any more.
// Flows and pending connects are bounded. A new SYN past the pending bound
// evicts the oldest pending connect (its guest retransmits and tries
// again), so a SYN flood to addresses that never answer costs a fixed number
// of descriptors and never locks out a connection that completes; a pending
// connect also ends, unanswered, after libslirp's 75 s. A full flow table
// makes room by ending the linger of the flow that closed first, so a guest
// opening and closing connections quickly keeps the path; only past the
// bound of flows still open do new connections go through libslirp, as
// with the path off.
//
// Two deliveries. With kernel-to-kernel delivery (tc_redirect.hpp) tc moves
// the guest's established TCP between its tap and the private kernel, and
// the daemon sees only SYNs: it hands each, once connected, to the private
// tap with its own destination port, and a listener on that port (opened by
// the keeper, redirect_keeper.hpp, bounded, closed when idle) accepts the
// connection; a flow ends with its relay. At its limits (descriptors, flows,
// listeners) the path then answers the SYN as libslirp answers at its own,
// ICMP network unreachable, rather than hand it to libslirp, whose later
// segments tc would take away from it. Otherwise the daemon bridges: every
// segment of a flow passes through it between the two taps, as above.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "guest_output.hpp"
#include "outbound.hpp"
#include "private_netns.hpp"
#include "redirect_keeper.hpp"
#include "splice_relay.hpp"
#include "stats.hpp"
#include "tcp_classifier.hpp"
#include "unique_fd.hpp"
#include "vnet.hpp"

class KernelTcpPath {
   public:
    struct Settings {
        KernelPathScope scope;
        OutboundAddresses outbound;
        size_t max_flows = 16384;
        size_t max_pending = 512;  // each holds two descriptors
        // When set, a guest connection to the DNS address, port 53, is the
        // DNS forwarder's: this gives the stream that stands for its host
        // socket (invalid: libslirp takes the connection).
        std::function<UniqueFd()> dns_stream;
    };
    // Made before the daemon is confined (the relay raises the descriptor
    // limit); the private namespace comes later, through attach(). Frames
    // for the guest go to `output` (the packet path's), with the header the
    // private tap gave them.
    KernelTcpPath(EventLoop& loop, Settings settings, GuestOutput& output);
    ~KernelTcpPath();
    KernelTcpPath(const KernelTcpPath&) = delete;
    KernelTcpPath& operator=(const KernelTcpPath&) = delete;

    // A frame from the guest; header is the one the guest's tap gave (zero
    // for a device without them), tcp where find_tcp found its TCP header.
    // Returns true when the path took it; the frame may have been modified
    // even then, never when it returns false.
    bool from_guest(const VnetHeader& header, uint8_t* frame, size_t len, const TcpView& tcp);
    // The batch of frames from the guest that from_guest() saw is over.
    // Request/response traffic does not wait for loop cycles that would only
    // report what is already there: a small request written to the private
    // tap during the batch was queued on its accepted socket within that
    // write, so it is relayed now, and what the host peer answered within
    // that turn goes on to the guest, through the output, after the batch.
    // Returns whether there was such a request.
    bool guest_batch_done();
    // A small request is waiting for guest_batch_done(): the packet path
    // ends its batch here, so the request is not held up by the reads of the
    // rest of the batch (the last of which would only find the device empty).
    bool request_waiting() const { return !prompt_relays_.empty(); }

    // The private namespace is ready: SYNs whose host connect has already
    // succeeded go to its tap now. False when the loop cannot watch its
    // descriptors: the caller then gives up (give_up()).
    bool attach(PrivateNetns netns, std::string* err);
    // The private namespace could not be made: every SYN held goes to
    // libslirp through give_back (as from the guest, header and all), and
    // the path takes nothing more. The caller then destroys the path.
    using SynReturn = std::function<void(const VnetHeader&, uint8_t*, size_t)>;
    void give_up(const SynReturn& give_back);

    // A slirp-mode TCP forward to this guest port came or went: its flows
    // are libslirp's, so tc must leave them to the daemon. False when one
    // more port cannot be left (kernel to kernel, kExclusionSlots of them
    // are): the forward is then refused.
    bool slirp_forward(uint16_t guest_port, bool added);
    // False when every such change is in place; otherwise ready runs once
    // they are.
    bool when_forwards_settled(std::function<void()> ready);

    // refused and failed count host connects whether they failed at once
    // (the SYN then went to libslirp) or later.
    KernelTcpCounters stats() const;
    // With kernel-to-kernel delivery, the keeper of its state; else null.
    RedirectKeeper* keeper() { return keeper_.get(); }

   private:
    struct Connection {
        FlowKey key;
        UniqueFd host;             // connecting, then connected until joined
        std::vector<uint8_t> syn;  // the held SYN (header, then frame)
        bool connecting = true;
        int64_t started_ms = 0;
        uint64_t relay = 0;  // the relay's id once joined
        // Kernel-to-kernel delivery: the listener its SYN went to, until
        // accepted (its handshake is counted there).
        bool on_listener = false;
    };
    // A listener on one destination port, kernel-to-kernel delivery only.
    using ListenerKey = std::pair<int, uint16_t>;  // family, port
    struct Listener {
        UniqueFd fd;                    // invalid until the keeper answers
        std::vector<uint64_t> waiting;  // connected flows whose SYN waits for it
        size_t handshakes = 0;          // SYNs sent, not yet accepted
        int64_t idle_since_ms = 0;
    };
    static constexpr size_t kMaxListeners = 256;

    void start_connect(const TcpFrame& t, const VnetHeader& header, const uint8_t* frame,
                       size_t len, bool* taken);
    void connect_done(uint64_t id);
    void send_syn(uint64_t id);
    bool listener_ready(uint64_t id, const TcpFrame& t);
    void listener_opened(ListenerKey key, UniqueFd fd, const std::string& why);
    bool make_room_for_listener();
    void close_idle_listeners(int64_t now);
    void leave_listener(Connection& c);
    void answer_unreachable(const uint8_t* frame, const TcpFrame& t);
    FlowTable::Flow* find_flow(const FlowKey& key);
    void relay_closed(uint64_t relay);
    void to_private(const VnetHeader& header, uint8_t* frame, size_t len, const TcpFrame& t,
                    FlowTable::Flow& flow);
    void on_private_tap(int budget);
    void on_listener(int fd);
    void drop(uint64_t id);
    void flow_gone(uint64_t id);
    UniqueFd accept_once(int listener);
    bool add_reserve(int like);
    void evict_oldest_pending();
    bool to_dns(const TcpFrame& t) const;
    void sweep();

    EventLoop& loop_;
    PrivateNetns netns_;
    Settings settings_;
    GuestOutput& output_;
    FlowTable flows_;
    SpliceRelay relay_;
    std::map<uint64_t, Connection> conns_;  // by flow id
    bool attached_ = false;
    std::vector<uint64_t> awaiting_netns_;  // connected before attach(), oldest first
    std::vector<uint64_t> prompt_relays_;   // relays a small request reached this batch
    size_t pending_ = 0;
    std::deque<uint64_t> pending_order_;  // ids, oldest first (some may be gone)
    // One per connection not yet joined, plus one (see the top).
    std::vector<UniqueFd> accept_reserve_;
    KernelTcpCounters stats_;
    bool redirect_ = false;  // kernel-to-kernel delivery (see the top)
    std::unique_ptr<RedirectKeeper> keeper_;
    std::map<ListenerKey, Listener> listeners_;
    std::map<uint64_t, uint64_t> flow_of_relay_;  // kernel-to-kernel delivery
    std::map<uint16_t, int> slirp_forwards_;      // guest port, forwards to it
    EventLoop::TimerId sweep_timer_ = 0;
    // Mapped rather than allocated: 64 KiB from the heap would move
    // libslirp's later allocations onto pages the slirp path never touches.
    struct Unmap {
        void operator()(uint8_t* p) const;
    };
    std::unique_ptr<uint8_t[], Unmap> buffer_;
};
