// SPDX-License-Identifier: GPL-2.0-or-later
// kernel_tcp.cpp: the kernel TCP path's runtime (see kernel_tcp.hpp).
#include "kernel_tcp.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "error.hpp"
#include "wire.hpp"

namespace {

// A frame never exceeds 64 KiB (a TSO segment) plus Ethernet and the header.
constexpr size_t kBufferSize = 65536 + 64 + sizeof(VnetHeader);
constexpr int kFramesPerWakeup = 64;
constexpr int kAcceptsPerWakeup = 64;
constexpr int64_t kSweepMs = 5000;
// A flow whose handshake never completed in the private namespace (the
// guest went away after its SYN) gives back its host socket after this.
constexpr int64_t kHandshakeMs = 75 * 1000;
// libslirp gives up on a connection still being set up after this
// (TCPTV_KEEP_INIT): so does a pending host connect.
constexpr int64_t kPendingMs = 75 * 1000;
// A listener (kernel-to-kernel delivery) with no handshake under way closes
// after this: connections to one port in a row keep theirs.
constexpr int64_t kListenerIdleMs = 5000;
// The private kernel probes a guest that has been silent this long (then
// every kKeepIntervalS, kKeepCount times): a guest that has forgotten a
// connection answers with a reset, one that is gone answers nothing, and
// either way the relay ends and gives back both descriptors. Without this a
// connection the guest closed while the host peer never closes its side
// would hold its host socket in FIN_WAIT2 for good (libslirp's path has its
// own fence for that, fin_wait2_fence.hpp).
constexpr int kKeepIdleS = 60;
constexpr int kKeepIntervalS = 10;
constexpr int kKeepCount = 6;

void keep_alive(int fd) {
    int on = 1, idle = kKeepIdleS, interval = kKeepIntervalS, count = kKeepCount;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

// The flow of an accepted socket: its peer is the guest, its local address
// the destination the guest asked for.
bool accepted_key(int fd, FlowKey* key) {
    sockaddr_storage peer{}, local{};
    socklen_t plen = sizeof peer, llen = sizeof local;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) < 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) < 0)
        return false;
    *key = {};
    key->family = static_cast<uint8_t>(peer.ss_family);
    if (peer.ss_family == AF_INET) {
        const auto& p = reinterpret_cast<const sockaddr_in&>(peer);
        const auto& l = reinterpret_cast<const sockaddr_in&>(local);
        std::memcpy(key->guest.data(), &p.sin_addr, 4);
        std::memcpy(key->remote.data(), &l.sin_addr, 4);
        key->guest_port = ntohs(p.sin_port);
        key->remote_port = ntohs(l.sin_port);
        return true;
    }
    if (peer.ss_family == AF_INET6) {
        const auto& p = reinterpret_cast<const sockaddr_in6&>(peer);
        const auto& l = reinterpret_cast<const sockaddr_in6&>(local);
        std::memcpy(key->guest.data(), &p.sin6_addr, 16);
        std::memcpy(key->remote.data(), &l.sin6_addr, 16);
        key->guest_port = ntohs(p.sin6_port);
        key->remote_port = ntohs(l.sin6_port);
        return true;
    }
    return false;
}

// A held SYN as stored: the guest's header, then the frame.
struct HeldSyn {
    VnetHeader header;
    uint8_t* frame;
    size_t len;
};
HeldSyn view_syn(std::vector<uint8_t>& stored) {
    HeldSyn h{};
    std::memcpy(&h.header, stored.data(), sizeof h.header);
    h.frame = stored.data() + sizeof h.header;
    h.len = stored.size() - sizeof h.header;
    return h;
}

bool map_buffer(uint8_t** buffer, std::string* err) {
    void* p =
        mmap(nullptr, kBufferSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return fail(err, errno_text("cannot map the TCP tap's buffer"));
    *buffer = static_cast<uint8_t*>(p);
    return true;
}

}  // namespace

void KernelTcpPath::Unmap::operator()(uint8_t* p) const {
    munmap(p, kBufferSize);
}

KernelTcpPath::KernelTcpPath(EventLoop& loop, Settings settings, GuestOutput& output)
    : loop_(loop), settings_(settings), output_(output), flows_(settings.max_flows), relay_(loop) {
    sweep_timer_ = loop_.add_timer(loop_.clock_ms() + kSweepMs, [this] { sweep(); });
}

bool KernelTcpPath::attach(PrivateNetns netns, std::string* err) {
    uint8_t* buffer;
    if (!map_buffer(&buffer, err)) return false;
    buffer_.reset(buffer);
    netns_ = std::move(netns);
    redirect_ = netns_.redirect;
    if (!loop_.watch(
            netns_.tap.get(), POLLIN, [this](short) { on_private_tap(kFramesPerWakeup); }, err))
        return false;
    if (redirect_) {
        keeper_ = std::make_unique<RedirectKeeper>(loop_, std::move(netns_.keeper_channel),
                                                   std::move(netns_.keeper));
        if (!keeper_->start(err)) return false;
        for (const auto& [port, count] : slirp_forwards_) keeper_->exclude(port);
        // Each destination port gets a listener of its own instead.
        netns_.listen4.reset();
        netns_.listen6.reset();
        relay_.on_closed([this](uint64_t relay) { relay_closed(relay); });
    } else {
        // A reply just spliced into the private kernel left it as one
        // segment within that splice: to the guest now, and without the
        // read that would find the tap empty (anything more waits for the loop).
        relay_.on_small_move_to_guest([this] { on_private_tap(1); });
    }
    for (int fd : {netns_.listen4.get(), netns_.listen6.get()})
        if (fd >= 0 && !loop_.watch(
                           fd, POLLIN, [this, fd](short) { on_listener(fd); }, err))
            return false;
    attached_ = true;
    add_reserve(netns_.tap.get());
    for (uint64_t id : std::exchange(awaiting_netns_, {})) send_syn(id);
    return true;
}

void KernelTcpPath::give_up(const SynReturn& give_back) {
    std::vector<uint64_t> ids;
    for (auto& [id, c] : conns_) ids.push_back(id);
    for (uint64_t id : ids) {
        std::vector<uint8_t> syn = std::move(conns_[id].syn);
        drop(id);
        if (syn.size() <= sizeof(VnetHeader)) continue;
        HeldSyn held = view_syn(syn);
        give_back(held.header, held.frame, held.len);
    }
    awaiting_netns_.clear();
}

bool KernelTcpPath::add_reserve(int like) {
    UniqueFd fd(fcntl(like, F_DUPFD_CLOEXEC, 0));
    if (!fd) return false;
    accept_reserve_.push_back(std::move(fd));
    return true;
}

KernelTcpPath::~KernelTcpPath() {
    for (int fd : {netns_.tap.get(), netns_.listen4.get(), netns_.listen6.get()})
        if (fd >= 0) loop_.unwatch(fd);
    for (auto& [key, l] : listeners_)
        if (l.fd) loop_.unwatch(l.fd.get());
    for (auto& [id, c] : conns_)
        if (c.host && !c.relay) loop_.unwatch(c.host.get());
    if (sweep_timer_) loop_.cancel_timer(sweep_timer_);
}

KernelTcpCounters KernelTcpPath::stats() const {
    KernelTcpCounters s = stats_;
    s.active = relay_.connections();
    s.bytes_from_guest = relay_.bytes_from_guest();
    s.bytes_to_guest = relay_.bytes_to_guest();
    s.redirect = redirect_;
    for (const auto& [key, l] : listeners_) s.listeners += l.fd.valid();
    return s;
}

[[gnu::hot]] bool KernelTcpPath::from_guest(const VnetHeader& header, uint8_t* frame, size_t len,
                                            const TcpView& tcp) {
    TcpFrame t;
    if (!parse_tcp_frame(frame, tcp, &t)) return false;
    FlowKey key = key_from_guest(t);
    FlowTable::Flow* flow = find_flow(key);
    if (flow && t.syn_only() && flow->state == FlowTable::State::Closing) {
        drop(flow->id);  // the guest reuses the port: a new connection
        flow = nullptr;
    }
    if (!flow) {
        if (!t.syn_only() || !(kernel_serves(settings_.scope, t) || to_dns(t))) return false;
        bool taken = false;
        start_connect(t, header, frame, len, &taken);
        return taken;
    }
    // The same guest port to the same address but another port: the private
    // namespace would see both as one connection, so libslirp takes it.
    if (flow->remote_port != t.dport) return false;
    if (flow->state == FlowTable::State::Connecting) {
        flow->last_ms = loop_.clock_ms();
        return true;  // a retransmitted SYN while the host connect is pending
    }
    to_private(header, frame, len, t, *flow);
    return true;
}

void KernelTcpPath::start_connect(const TcpFrame& t, const VnetHeader& header, const uint8_t* frame,
                                  size_t len, bool* taken) {
    if (pending_ >= settings_.max_pending) evict_oldest_pending();
    // The DNS forwarder's stream is connected already: the SYN goes on as
    // soon as the loop sees it writable.
    bool dns = to_dns(t);
    sockaddr_storage to{};
    socklen_t to_len = 0;
    if (!dns) host_destination(settings_.scope, t, &to, &to_len);
    UniqueFd fd =
        dns ? settings_.dns_stream()
            : UniqueFd(socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    // Both descriptors, or libslirp takes the connection, or at least
    // answers as it does at its limit (see the top). tc leaves the DNS
    // streams' segments to the daemon, so libslirp may own one.
    if (!fd || !add_reserve(fd.get())) {
        if (redirect_ && !dns) {
            answer_unreachable(frame, t);
            *taken = true;
        }
        return;
    }
    bool started = dns;
    // libslirp binds every connection to --outbound-addr, the host's
    // loopback (the gateway) included, so the host-side server sees ADDR.
    if (!dns && settings_.outbound.bind_socket(fd.get(), t.family)) {
        int rc;
        do {
            rc = connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), to_len);
        } while (rc < 0 && errno == EINTR);
        started = rc == 0 || errno == EINPROGRESS;
        // Failing at once: libslirp tries the same and answers as it always has.
        if (!started) (errno == ECONNREFUSED ? stats_.refused : stats_.failed)++;
    }
    FlowTable::Flow* flow = nullptr;
    if (started) {
        uint64_t evicted = 0;
        flow = flows_.add(key_from_guest(t), t.dport, frame + 6, loop_.clock_ms(), &evicted);
        if (evicted) flow_gone(evicted);
    }
    if (!flow) {
        accept_reserve_.pop_back();
        if (redirect_ && started && !dns) {
            answer_unreachable(frame, t);
            *taken = true;
        }
        return;
    }
    uint64_t id = flow->id;
    // A connect the loop cannot watch would never complete: libslirp takes it.
    if (!loop_.watch(
            fd.get(), POLLOUT, [this, id](short) { connect_done(id); }, nullptr)) {
        flows_.erase(key_from_guest(t));
        accept_reserve_.pop_back();
        return;
    }
    *taken = true;
    stats_.total++;
    pending_++;
    Connection& c = conns_[id];
    c.key = key_from_guest(t);
    c.host = std::move(fd);
    c.started_ms = loop_.clock_ms();
    c.syn.resize(sizeof header + len);
    std::memcpy(c.syn.data(), &header, sizeof header);
    std::memcpy(c.syn.data() + sizeof header, frame, len);
    pending_order_.push_back(id);
}

bool KernelTcpPath::to_dns(const TcpFrame& t) const {
    const KernelPathScope& s = settings_.scope;
    if (!settings_.dns_stream || t.dport != 53) return false;
    if (t.family == AF_INET) return std::memcmp(t.dst.data(), &s.dns, 4) == 0;
    return s.ipv6 && std::memcmp(t.dst.data(), &s.dns6, 16) == 0;
}

void KernelTcpPath::evict_oldest_pending() {
    while (!pending_order_.empty()) {
        uint64_t id = pending_order_.front();
        pending_order_.pop_front();
        auto it = conns_.find(id);
        if (it != conns_.end() && it->second.connecting) {
            drop(id);
            return;
        }
    }
}

void KernelTcpPath::connect_done(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Connection& c = it->second;
    loop_.unwatch(c.host.get());
    c.connecting = false;
    pending_--;
    int err = socket_error(c.host.get());
    FlowTable::Flow* flow = flows_.find(c.key);
    HeldSyn syn = view_syn(c.syn);
    TcpFrame t;
    if (!flow || !parse_tcp_frame(syn.frame, syn.len, &t)) {
        drop(id);
        return;
    }
    if (err != 0) {
        // As libslirp does when its connect fails after starting: a refusal
        // is reset, anything else (no answer to ARP, a timeout) goes
        // unanswered, and the guest's own retransmissions try again.
        if (err == ECONNREFUSED) {
            stats_.refused++;
            uint8_t reset[kResetFrameSize];
            size_t n = build_reset(syn.frame, t, reset);
            output_.send_with_header(VnetHeader{}, reset, n);
        } else {
            stats_.failed++;
        }
        drop(id);
        return;
    }
    if (!attached_) {
        awaiting_netns_.push_back(id);
        return;
    }
    send_syn(id);
}

// The host side is connected: the held SYN goes to the private namespace,
// whose kernel answers the guest's handshake.
void KernelTcpPath::send_syn(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Connection& c = it->second;
    FlowTable::Flow* flow = flows_.find(c.key);
    HeldSyn syn = view_syn(c.syn);
    TcpFrame t;
    if (!flow || flow->id != id || !parse_tcp_frame(syn.frame, syn.len, &t)) {
        drop(id);
        return;
    }
    if (redirect_ && !listener_ready(id, t)) return;  // it comes back here
    flow->state = FlowTable::State::Open;
    to_private(syn.header, syn.frame, syn.len, t, *flow);
    std::vector<uint8_t>().swap(c.syn);
}

[[gnu::hot]] void KernelTcpPath::to_private(const VnetHeader& header, uint8_t* frame, size_t len,
                                            const TcpFrame& t, FlowTable::Flow& flow) {
    VnetHeader to_tap = header;
    bool partial = header.flags & kVnetNeedsCsum;
    if (!redirect_) set_tcp_port(frame, t, false, kKernelListenPort, !partial);
    // A guest without checksum offload (MTU 65520) checksummed each segment
    // as it copied it in; the private kernel would check it again, a pass
    // over every byte in this process (5 % of its CPU netns->host). Marked
    // as a partial checksum, the segment is taken as it is, as one from a
    // local socket is: between the guest's kernel and this one there is
    // nothing that could corrupt it.
    if (!partial) {
        to_tap.flags |= kVnetNeedsCsum;
        to_tap.csum_start = static_cast<uint16_t>(t.tcp);
        to_tap.csum_offset = kTcpChecksumOffset;
    }
    std::memcpy(frame, netns_.mac.data(), 6);
    uint64_t id = flow.id;
    // With kernel-to-kernel delivery the daemon sees too few of a flow's
    // segments to follow it: the flow ends with its relay.
    bool gone =
        !redirect_ && flows_.note_flags(key_from_guest(t), flow, t.flags, true, loop_.clock_ms());
    iovec iov[2] = {{&to_tap, sizeof to_tap}, {frame, len}};
    // A full queue costs a retransmission, as on any link.
    bool written = writev(netns_.tap.get(), iov, 2) >= 0;
    // The private kernel has queued a request's bytes on the accepted
    // socket within that write: relayed once the batch is over, not a loop
    // cycle later (guest_batch_done).
    if (written && t.payload > 0 && t.payload <= BusyPollHint::kLargestPromptMessage)
        if (auto it = conns_.find(id); it != conns_.end() && it->second.relay)
            if (prompt_relays_.empty() || prompt_relays_.back() != it->second.relay)
                prompt_relays_.push_back(it->second.relay);
    if (gone) drop(id);
}

[[gnu::hot]] bool KernelTcpPath::guest_batch_done() {
    if (prompt_relays_.empty()) return false;
    for (uint64_t relay : prompt_relays_) relay_.relay_from_guest_now(relay);
    prompt_relays_.clear();
    return true;
}

[[gnu::hot]] void KernelTcpPath::on_private_tap(int budget) {
    for (int i = 0; i < budget; i++) {
        ssize_t n = read(netns_.tap.get(), buffer_.get(), kBufferSize);
        if (n < 0) return;  // EAGAIN; the tap cannot close while we hold it
        if (static_cast<size_t>(n) <= sizeof(VnetHeader)) continue;
        VnetHeader header;
        std::memcpy(&header, buffer_.get(), sizeof header);
        uint8_t* frame = buffer_.get() + sizeof header;
        size_t len = static_cast<size_t>(n) - sizeof header;
        TcpFrame t;
        // Router solicitations, MLD reports and the like have no one to go to.
        if (!parse_tcp_frame(frame, len, &t)) continue;
        FlowKey key = key_to_guest(t);
        FlowTable::Flow* flow = find_flow(key);
        if (!flow || flow->state == FlowTable::State::Connecting) continue;
        set_tcp_port(frame, t, true, flow->remote_port, !(header.flags & kVnetNeedsCsum));
        std::memcpy(frame, flow->guest_mac.data(), 6);
        uint64_t id = flow->id;
        bool gone = flows_.note_flags(key, *flow, t.flags, false, loop_.clock_ms());
        output_.send_with_header(header, frame, len);
        // A reply or a SYN-ACK on its way: the guest's next frame is likely prompt.
        loop_.busy_poll_hint().kernel_frame_to_guest(len, t.payload > 0 || (t.flags & kTcpSyn));
        if (gone) drop(id);
    }
}

// An accept that may spend a reserve; the caller settles the count.
UniqueFd KernelTcpPath::accept_once(int listener) {
    UniqueFd fd(accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd || (errno != EMFILE && errno != ENFILE) || accept_reserve_.empty()) return fd;
    accept_reserve_.pop_back();
    fd = UniqueFd(accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd) return fd;
    add_reserve(listener);  // nothing to accept after all: the slot just freed
    return fd;
}

void KernelTcpPath::on_listener(int fd) {
    for (int i = 0; i < kAcceptsPerWakeup; i++) {
        size_t reserves = accept_reserve_.size();
        UniqueFd accepted = accept_once(fd);
        if (!accepted) return;
        bool spent = accept_reserve_.size() < reserves;
        FlowKey key;
        FlowTable::Flow* flow = accepted_key(accepted.get(), &key) ? find_flow(key) : nullptr;
        auto it = flow ? conns_.find(flow->id) : conns_.end();
        // No host side (the flow ended meanwhile, and gave its reserve
        // back): closing resets the guest.
        if (it == conns_.end() || !it->second.host || it->second.relay) {
            if (spent) {
                accepted.reset();
                add_reserve(fd);
            }
            continue;
        }
        if (!spent) accept_reserve_.pop_back();  // this connection's own
        keep_alive(accepted.get());
        uint64_t id = it->first;
        leave_listener(it->second);
        uint64_t relay = relay_.join(std::move(it->second.host), std::move(accepted));
        it->second.relay = relay;
        if (!redirect_) continue;
        if (relay_.is_open(relay))
            flow_of_relay_[relay] = id;
        else
            drop(id);
    }
}

void KernelTcpPath::drop(uint64_t id) {
    auto it = conns_.find(id);
    if (it != conns_.end()) {
        Connection& c = it->second;
        if (c.connecting) {
            loop_.unwatch(c.host.get());
            pending_--;
        }
        if (!c.relay && accept_reserve_.size() > 1) accept_reserve_.pop_back();
        leave_listener(c);
        if (c.relay) flow_of_relay_.erase(c.relay);
        // Only its own flow: the key may have gone to a new connection.
        if (FlowTable::Flow* flow = flows_.find(c.key); flow && flow->id == id) flows_.erase(c.key);
        conns_.erase(it);
        return;
    }
    flows_.erase_id(id);
}

// The table has let the flow go (its linger is over, or it made room): its
// record goes too, unless the relay still runs (the sweep ends it later).
void KernelTcpPath::flow_gone(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    if (it->second.relay && relay_.is_open(it->second.relay)) return;
    drop(id);
}

// Closed flows linger, then go; a handshake that never completed gives back
// its host socket; a joined connection's record goes with its relay.
void KernelTcpPath::sweep() {
    int64_t now = loop_.clock_ms();
    std::vector<uint64_t> done;
    flows_.expire(now, [&](uint64_t id) { done.push_back(id); });
    for (auto& [id, c] : conns_) {
        const FlowTable::Flow* flow = flows_.find(c.key);
        bool flow_over = !flow || flow->id != id;  // gone, or the key is a new connection's
        bool joined_and_over = c.relay && !relay_.is_open(c.relay) && flow_over;
        bool never_accepted = !c.relay && !c.connecting && now - c.started_ms > kHandshakeMs;
        bool given_up = c.connecting && now - c.started_ms > kPendingMs;
        if (joined_and_over || never_accepted || given_up) done.push_back(id);
    }
    for (uint64_t id : done) flow_gone(id);
    close_idle_listeners(now);
    // Ids of connects that have completed or gone only wait for their turn.
    while (!pending_order_.empty()) {
        auto it = conns_.find(pending_order_.front());
        if (it != conns_.end() && it->second.connecting) break;
        pending_order_.pop_front();
    }
    sweep_timer_ = loop_.add_timer(now + kSweepMs, [this] { sweep(); });
}

FlowTable::Flow* KernelTcpPath::find_flow(const FlowKey& key) {
    // Bridged, the private kernel sees one port for all (tcp_classifier.hpp).
    return redirect_ ? flows_.find(key) : flows_.find_any_port(key);
}

void KernelTcpPath::relay_closed(uint64_t relay) {
    auto it = flow_of_relay_.find(relay);
    if (it == flow_of_relay_.end()) return;
    uint64_t id = it->second;
    flow_of_relay_.erase(it);
    drop(id);
}

void KernelTcpPath::answer_unreachable(const uint8_t* frame, const TcpFrame& t) {
    const KernelPathScope& s = settings_.scope;
    const void* gateway = t.family == AF_INET ? static_cast<const void*>(&s.gateway)
                                              : static_cast<const void*>(&s.gateway6);
    uint8_t out[kUnreachableFrameSize];
    size_t n = build_unreachable(frame, t, static_cast<const uint8_t*>(gateway), out);
    output_.send_with_header(VnetHeader{}, out, n);
    stats_.failed++;
}

// Whether the SYN of flow id may go to the private kernel now: a listener
// waits on its port. If not, one is asked for, and send_syn() runs again
// once it is open.
bool KernelTcpPath::listener_ready(uint64_t id, const TcpFrame& t) {
    Connection& c = conns_[id];
    ListenerKey key{t.family, t.dport};
    auto it = listeners_.find(key);
    if (it != listeners_.end() && it->second.fd) {
        if (!c.on_listener) it->second.handshakes++;
        c.on_listener = true;
        return true;
    }
    if (it != listeners_.end()) {
        it->second.waiting.push_back(id);
        return false;
    }
    if (!keeper_ || !keeper_->alive() ||
        (listeners_.size() >= kMaxListeners && !make_room_for_listener())) {
        HeldSyn syn = view_syn(c.syn);
        answer_unreachable(syn.frame, t);
        drop(id);
        return false;
    }
    listeners_[key].waiting.push_back(id);
    keeper_->listen(t.family, t.dport, [this, key](UniqueFd fd, const std::string& why) {
        listener_opened(key, std::move(fd), why);
    });
    return false;
}

void KernelTcpPath::listener_opened(ListenerKey key, UniqueFd fd, const std::string& why) {
    auto it = listeners_.find(key);
    if (it == listeners_.end()) return;
    std::vector<uint64_t> waiting = std::move(it->second.waiting);
    int raw = fd.get();
    if (fd && loop_.watch(
                  raw, POLLIN, [this, raw](short) { on_listener(raw); }, nullptr)) {
        it->second.fd = std::move(fd);
        it->second.idle_since_ms = loop_.clock_ms();
        for (uint64_t id : waiting) send_syn(id);
        return;
    }
    log_error("no listener in the TCP namespace for port " + std::to_string(key.second) + " (" +
              (why.empty() ? std::string("cannot watch it") : why) + ")");
    listeners_.erase(it);
    for (uint64_t id : waiting) {
        auto c = conns_.find(id);
        if (c == conns_.end()) continue;
        HeldSyn syn = view_syn(c->second.syn);
        TcpFrame t;
        if (parse_tcp_frame(syn.frame, syn.len, &t)) answer_unreachable(syn.frame, t);
        drop(id);
    }
}

void KernelTcpPath::leave_listener(Connection& c) {
    if (!c.on_listener) return;
    c.on_listener = false;
    auto it = listeners_.find({c.key.family, c.key.remote_port});
    if (it == listeners_.end() || it->second.handshakes == 0) return;
    if (--it->second.handshakes == 0) it->second.idle_since_ms = loop_.clock_ms();
}

bool KernelTcpPath::make_room_for_listener() {
    auto oldest = listeners_.end();
    for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
        const Listener& l = it->second;
        if (!l.fd || l.handshakes || !l.waiting.empty()) continue;
        if (oldest == listeners_.end() || l.idle_since_ms < oldest->second.idle_since_ms)
            oldest = it;
    }
    if (oldest == listeners_.end()) return false;
    loop_.unwatch(oldest->second.fd.get());
    listeners_.erase(oldest);
    return true;
}

void KernelTcpPath::close_idle_listeners(int64_t now) {
    for (auto it = listeners_.begin(); it != listeners_.end();) {
        const Listener& l = it->second;
        if (l.fd && !l.handshakes && l.waiting.empty() &&
            now - l.idle_since_ms >= kListenerIdleMs) {
            loop_.unwatch(l.fd.get());
            it = listeners_.erase(it);
        } else {
            ++it;
        }
    }
}

bool KernelTcpPath::when_forwards_settled(std::function<void()> ready) {
    return keeper_ && keeper_->when_answered(std::move(ready));
}

bool KernelTcpPath::slirp_forward(uint16_t guest_port, bool added) {
    if (added && keeper_ && !slirp_forwards_.count(guest_port) &&
        slirp_forwards_.size() >= static_cast<size_t>(kExclusionSlots))
        return false;
    int count = slirp_forwards_[guest_port] += added ? 1 : -1;
    if (count <= 0) slirp_forwards_.erase(guest_port);
    bool changed = added ? count == 1 : count == 0;
    if (!changed || !keeper_) return true;
    if (added)
        keeper_->exclude(guest_port);
    else
        keeper_->include(guest_port);
    return true;
}
