// SPDX-License-Identifier: GPL-2.0-or-later
// dns_forwarder.cpp: the DNS forwarder's runtime (see dns_forwarder.hpp).
#include "dns_forwarder.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "wire.hpp"

namespace {

// How often a query may look at resolv.conf (one stat).
constexpr int64_t kLookIntervalMs = 1000;
// Channels kept serving their last queries after being replaced; each holds
// a socket per server while it has queries.
constexpr size_t kMaxRetired = 8;
// A stream's unread input: one whole message and a little more.
constexpr size_t kStreamInputMax = 2 + 65535 + 4096;
// A stream idle this long is closed (looked at every kStreamSweepMs).
constexpr int64_t kStreamIdleMs = 30 * 1000;
constexpr int64_t kStreamSweepMs = 10 * 1000;

}  // namespace

struct DnsForwarder::Channel {
    DnsForwarder* owner = nullptr;
    ares_channel ares = nullptr;            // null when c-ares could not make it
    std::vector<sockaddr_storage> servers;  // in the order c-ares tries them
    size_t pending = 0;
    // c-ares's sockets, watched in the loop, and the server each is
    // connected to (looked up once it is).
    std::map<int, std::optional<sockaddr_storage>> sockets;

    ~Channel() {
        if (ares) ares_destroy(ares);  // pending queries end, sockets close
        for (auto& [fd, peer] : sockets) owner->loop_.unwatch(fd);
    }
};

struct DnsForwarder::Query {
    DnsForwarder* owner = nullptr;
    Channel* channel = nullptr;
    bool tcp = false;
    uint64_t stream = 0;            // TCP: the stream it came on
    DnsQueryFrame frame;            // UDP: where the answer goes (message unset)
    UdpKey key{};                   // UDP: its entry among those in flight
    std::vector<uint8_t> servfail;  // the answer when no server gives one
};

bool DnsForwarder::create(EventLoop& loop, Settings settings, GuestWriter to_guest,
                          DnsCounters& counters, std::unique_ptr<DnsForwarder>* out,
                          std::string* err) {
    int rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS)
        return fail(err, std::string("DNS forwarder: c-ares: ") + ares_strerror(rc));
    out->reset(new DnsForwarder(loop, std::move(settings), std::move(to_guest), counters));
    return true;
}

DnsForwarder::DnsForwarder(EventLoop& loop, Settings settings, GuestWriter to_guest,
                           DnsCounters& counters)
    : loop_(loop),
      settings_(std::move(settings)),
      to_guest_(std::move(to_guest)),
      counters_(counters) {
    config_ = read_resolv_conf(settings_.resolv_conf, &stamp_);
    looked_ms_ = loop_.clock_ms();
}

DnsForwarder::~DnsForwarder() {
    destroying_ = true;
    if (timer_) loop_.cancel_timer(timer_);
    if (stream_sweep_) loop_.cancel_timer(stream_sweep_);
    udp_.reset();
    tcp_.reset();
    retired_.clear();
    for (auto& [id, s] : streams_) loop_.unwatch(s.fd.get());
    ares_library_cleanup();
}

// At most once a second, and only when a query comes: an idle daemon never
// wakes for it.
void DnsForwarder::look_at_resolv_conf() {
    int64_t now = loop_.clock_ms();
    if (now - looked_ms_ < kLookIntervalMs) return;
    looked_ms_ = now;
    if (stamp_file(settings_.resolv_conf) == stamp_) return;
    ResolverConfig fresh = read_resolv_conf(settings_.resolv_conf, &stamp_);
    if (fresh == config_) return;
    config_ = std::move(fresh);
    if (preferred_) {
        bool listed = false;
        for (const auto& s : config_.servers) listed = listed || same_address(s, *preferred_);
        if (!listed) preferred_.reset();
    }
    stale_ = true;
}

DnsForwarder::Channel* DnsForwarder::channel(bool tcp) {
    if (stale_ && retired_.size() + 2 <= kMaxRetired) {
        for (auto* slot : {&udp_, &tcp_})
            if (*slot) retired_.push_back(std::move(*slot));
        stale_ = false;
    }
    std::unique_ptr<Channel>& slot = tcp ? tcp_ : udp_;
    // One c-ares could not make (no memory) is tried again with each query.
    if (!slot || !slot->ares) slot = make_channel(tcp);
    return slot.get();
}

std::unique_ptr<DnsForwarder::Channel> DnsForwarder::make_channel(bool tcp) {
    auto c = std::make_unique<Channel>();
    c->owner = this;
    // The preferred server first, then the file's order.
    if (preferred_ && !config_.rotate) c->servers.push_back(*preferred_);
    for (const auto& s : config_.servers)
        if (!(preferred_ && !config_.rotate && same_address(s, *preferred_)))
            c->servers.push_back(s);
    ares_options o{};
    // UDP: a truncated answer goes to the guest as it is (it asks again over
    // TCP), rather than c-ares asking again over TCP for an answer the
    // guest's UDP could not take. TCP: every query over TCP.
    o.flags = tcp ? ARES_FLAG_USEVC : ARES_FLAG_IGNTC;
    o.timeout = config_.timeout_ms;
    o.tries = config_.attempts;
    o.ndots = 1;
    o.lookups = const_cast<char*>("b");
    o.sock_state_cb = &DnsForwarder::on_socket_state;
    o.sock_state_cb_data = c.get();
    // Every option given, so that c-ares reads no file of its own.
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
               ARES_OPT_SERVERS | ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS | ARES_OPT_SORTLIST |
               ARES_OPT_SOCK_STATE_CB | (config_.rotate ? ARES_OPT_ROTATE : ARES_OPT_NOROTATE);
    if (ares_init_options(&c->ares, &o, mask) != ARES_SUCCESS) {
        c->ares = nullptr;
        return c;
    }
    std::vector<ares_addr_port_node> nodes(c->servers.size());
    for (size_t i = 0; i < nodes.size(); i++) {
        ares_addr_port_node& n = nodes[i];
        n = {};
        n.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
        n.udp_port = n.tcp_port = kDnsPort;
        if (c->servers[i].ss_family == AF_INET) {
            n.family = AF_INET;
            n.addr.addr4 = reinterpret_cast<const sockaddr_in&>(c->servers[i]).sin_addr;
        } else {
            n.family = AF_INET6;
            std::memcpy(&n.addr.addr6,
                        &reinterpret_cast<const sockaddr_in6&>(c->servers[i]).sin6_addr, 16);
        }
    }
    if (ares_set_servers_ports(c->ares, nodes.empty() ? nullptr : nodes.data()) != ARES_SUCCESS) {
        ares_destroy(c->ares);
        c->ares = nullptr;
    }
    return c;
}

bool DnsForwarder::from_guest(const uint8_t* frame, size_t len) {
    DnsQueryFrame q;
    if (!parse_dns_query_frame(frame, len, settings_.addresses, &q)) return false;
    // Not a query (an answer, no question): nothing a nameserver would take.
    if (!is_forwardable_query(q.message, q.message_len)) return true;
    UdpKey key{q.family, q.guest, q.guest_port, load16(q.message)};
    if (udp_in_flight_.count(key)) return true;  // the guest retransmits: one is on its way
    counters_.queries++;
    if (in_flight_ >= settings_.max_queries) {
        counters_.dropped++;
        return true;
    }
    auto query = std::make_unique<Query>();
    query->frame = q;
    query->frame.message = nullptr;
    query->key = key;
    query->servfail = dns_question_only(q.message, q.message_len, kDnsServfail, false);
    udp_in_flight_.insert(key);
    send(false, std::move(query), q.message, q.message_len);
    after_ares();
    return true;
}

void DnsForwarder::send(bool tcp, std::unique_ptr<Query> query, const uint8_t* message,
                        size_t len) {
    look_at_resolv_conf();
    query->owner = this;
    query->tcp = tcp;
    Channel* c = channel(tcp);
    if (!c->ares) {  // c-ares could not make a channel: nothing to try
        answered(*query, ARES_ENOMEM, nullptr, 0);
        forget(*query);
        return;
    }
    query->channel = c;
    c->pending++;
    in_flight_++;
    // The caller runs after_ares() once it is done.
    ares_send(c->ares, message, static_cast<int>(len), &DnsForwarder::on_answer, query.release());
}

void DnsForwarder::forget(Query& q) {
    if (!q.tcp) udp_in_flight_.erase(q.key);
}

void DnsForwarder::on_answer(void* arg, int status, int, unsigned char* abuf, int alen) {
    std::unique_ptr<Query> q(static_cast<Query*>(arg));
    DnsForwarder& self = *q->owner;
    q->channel->pending--;
    self.in_flight_--;
    self.forget(*q);
    if (self.destroying_ || status == ARES_EDESTRUCTION) return;
    self.answered(*q, status, abuf, alen > 0 ? static_cast<size_t>(alen) : 0);
}

void DnsForwarder::answered(Query& q, int status, const uint8_t* abuf, size_t alen) {
    if (status != ARES_SUCCESS || !abuf || alen < kDnsHeader) {
        counters_.servfails++;
        deliver(q, q.servfail.data(), q.servfail.size());
        return;
    }
    counters_.answers++;
    if (answering_ && q.channel && !q.channel->servers.empty()) {
        if (!same_address(*answering_, q.channel->servers[0])) counters_.failovers++;
        // The server that answered goes first from now on.
        if (!config_.rotate && !(preferred_ && same_address(*preferred_, *answering_))) {
            preferred_ = *answering_;
            for (const auto* slot : {&udp_, &tcp_})
                if (*slot && !same_address((*slot)->servers[0], *preferred_)) stale_ = true;
        }
    }
    deliver(q, abuf, alen);
}

void DnsForwarder::deliver(Query& q, const uint8_t* message, size_t len) {
    if (len < kDnsHeader) return;
    std::vector<uint8_t> m(message, message + len);
    // c-ares 1.18 sends the guest's id as it is; should a later one choose
    // its own, the guest still sees its own.
    if (q.servfail.size() >= 2) std::memcpy(m.data(), q.servfail.data(), 2);
    if (!q.tcp) {
        if (dns_reply_overhead(q.frame.family) + m.size() > settings_.mtu)
            m = dns_question_only(m.data(), m.size(), m[3] & 0x0f, true);
        // As libslirp addresses its frames: IPv4 ones from the gateway's MAC,
        // IPv6 ones from 52:56 and the source address's last four bytes
        // (the MAC its neighbour advertisements give for fd00::3).
        std::array<uint8_t, 6> from = settings_.mac;
        if (q.frame.family == AF_INET6) {
            from = {0x52, 0x56};
            std::memcpy(from.data() + 2, q.frame.server.data() + 12, 4);
        }
        std::vector<uint8_t> f = build_dns_reply_frame(q.frame, from, m.data(), m.size());
        to_guest_(f.data(), f.size());
        return;
    }
    auto it = streams_.find(q.stream);
    if (it == streams_.end()) return;  // the guest has gone
    Stream& s = it->second;
    s.pending--;
    s.active_ms = loop_.clock_ms();
    s.out.push_back(static_cast<uint8_t>(m.size() >> 8));
    s.out.push_back(static_cast<uint8_t>(m.size()));
    s.out.insert(s.out.end(), m.begin(), m.end());
    streams_touched_ = true;
}

void DnsForwarder::on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* c = static_cast<Channel*>(data);
    DnsForwarder& self = *c->owner;
    if (!readable && !writable) {
        self.loop_.unwatch(fd);
        c->sockets.erase(fd);
        return;
    }
    c->sockets.try_emplace(fd);
    short events = static_cast<short>((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
    // Unwatched, the socket's query times out and c-ares tries the next
    // nameserver.
    if (!self.loop_.watch(
            fd, events, [&self, c, fd](short revents) { self.on_socket(c, fd, revents); }, nullptr))
        c->sockets.erase(fd);
}

void DnsForwarder::on_socket(Channel* c, int fd, short revents) {
    auto it = c->sockets.find(fd);
    if (it == c->sockets.end()) return;
    if (!it->second) {
        sockaddr_storage peer{};
        socklen_t n = sizeof peer;
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &n) == 0) it->second = peer;
    }
    std::optional<sockaddr_storage> peer = it->second;
    answering_ = peer ? &*peer : nullptr;
    in_ares_ = true;
    ares_process_fd(c->ares, (revents & (POLLIN | POLLERR | POLLHUP)) ? fd : ARES_SOCKET_BAD,
                    (revents & POLLOUT) ? fd : ARES_SOCKET_BAD);
    in_ares_ = false;
    answering_ = nullptr;
    after_ares();
}

// After c-ares has run (never from inside it): streams that got answers
// move on, channels replaced and done go, the timer follows c-ares's next
// timeout.
void DnsForwarder::after_ares() {
    if (in_ares_) return;
    if (streams_touched_) {
        streams_touched_ = false;
        std::vector<uint64_t> ids;
        for (auto& [id, s] : streams_) ids.push_back(id);
        for (uint64_t id : ids) service_stream(id);
    }
    std::erase_if(retired_, [](const std::unique_ptr<Channel>& c) { return c->pending == 0; });
    int64_t wait_ms = -1;
    for (Channel* c : channels()) {
        if (!c->pending) continue;
        timeval tv{};
        if (!ares_timeout(c->ares, nullptr, &tv)) continue;
        int64_t ms = static_cast<int64_t>(tv.tv_sec) * 1000 + (tv.tv_usec + 999) / 1000;
        if (wait_ms < 0 || ms < wait_ms) wait_ms = ms;
    }
    if (wait_ms < 0) {
        if (timer_) loop_.cancel_timer(timer_);
        timer_ = 0;
        return;
    }
    int64_t deadline = loop_.clock_ms() + wait_ms;
    if (timer_ && timer_ms_ == deadline) return;
    if (timer_) loop_.cancel_timer(timer_);
    timer_ms_ = deadline;
    timer_ = loop_.add_timer(deadline, [this] { on_timer(); });
}

std::vector<DnsForwarder::Channel*> DnsForwarder::channels() {
    std::vector<Channel*> all;
    for (auto* slot : {&udp_, &tcp_})
        if (*slot && (*slot)->ares) all.push_back(slot->get());
    for (auto& c : retired_)
        if (c->ares) all.push_back(c.get());
    return all;
}

void DnsForwarder::on_timer() {
    timer_ = 0;
    in_ares_ = true;
    for (Channel* c : channels()) ares_process_fd(c->ares, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    in_ares_ = false;
    after_ares();
}

UniqueFd DnsForwarder::open_stream() {
    if (streams_.size() >= settings_.max_streams) return {};
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0) return {};
    UniqueFd ours(pair[0]), theirs(pair[1]);
    uint64_t id = next_stream_++;
    Stream& s = streams_[id];
    s.fd = std::move(ours);
    s.active_ms = loop_.clock_ms();
    // A stream the loop cannot watch would never answer: libslirp takes the
    // connection instead.
    if (!loop_.watch(
            s.fd.get(), POLLIN, [this, id](short revents) { on_stream(id, revents); }, nullptr)) {
        streams_.erase(id);
        return {};
    }
    if (!stream_sweep_)
        stream_sweep_ =
            loop_.add_timer(loop_.clock_ms() + kStreamSweepMs, [this] { sweep_streams(); });
    return theirs;
}

void DnsForwarder::sweep_streams() {
    stream_sweep_ = 0;
    int64_t now = loop_.clock_ms();
    std::vector<uint64_t> idle;
    for (auto& [id, s] : streams_)
        if (s.pending == 0 && s.out.empty() && now - s.active_ms >= kStreamIdleMs)
            idle.push_back(id);
    for (uint64_t id : idle) {
        streams_[id].dead = true;
        service_stream(id);
    }
    if (!streams_.empty())
        stream_sweep_ = loop_.add_timer(now + kStreamSweepMs, [this] { sweep_streams(); });
}

void DnsForwarder::on_stream(uint64_t id, short revents) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    Stream& s = it->second;
    // Hung up: the relay has closed its end, so no answer can reach the
    // guest (and the event would repeat until the stream goes).
    if (revents & (POLLHUP | POLLERR)) s.dead = true;
    if ((revents & POLLIN) && !s.eof && !s.dead) {
        uint8_t buf[16384];
        while (s.in.size() < kStreamInputMax) {
            ssize_t n = read(s.fd.get(), buf, std::min(sizeof buf, kStreamInputMax - s.in.size()));
            if (n > 0) {
                s.in.insert(s.in.end(), buf, buf + n);
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
            s.eof = true;  // the guest closed (or the relay ended)
            break;
        }
    }
    service_stream(id);
    after_ares();
}

// Takes the stream's whole queries (up to its bound), writes what waits,
// closes it once it has nothing more to do, and watches for what it needs.
void DnsForwarder::service_stream(uint64_t id) {
    if (!take_stream_queries(id)) return;
    auto it = streams_.find(id);
    Stream& s = it->second;
    write_stream_output(s);
    if (s.dead || (s.eof && s.pending == 0 && s.out.empty())) {
        loop_.unwatch(s.fd.get());
        streams_.erase(it);
        return;
    }
    bool wants_input =
        !s.eof && s.pending < settings_.max_queries_per_stream && s.in.size() < kStreamInputMax;
    loop_.set_events(
        s.fd.get(), static_cast<short>((wants_input ? POLLIN : 0) | (s.out.empty() ? 0 : POLLOUT)));
}

// Sends each whole query in the stream's input, up to the stream's bound;
// false when the stream is gone (or was never there).
bool DnsForwarder::take_stream_queries(uint64_t id) {
    auto it = streams_.find(id);
    if (it == streams_.end()) return false;
    Stream& s = it->second;
    size_t used = 0;
    while (!s.dead && s.pending < settings_.max_queries_per_stream && s.in.size() - used >= 2) {
        size_t n = load16(s.in.data() + used);
        if (s.in.size() - used < 2 + n) break;
        const uint8_t* m = s.in.data() + used + 2;
        used += 2 + n;
        if (n < kDnsHeader) {  // not DNS: the stream ends
            s.dead = true;
            break;
        }
        counters_.queries++;
        s.pending++;
        s.active_ms = loop_.clock_ms();
        auto query = std::make_unique<Query>();
        query->stream = id;
        query->servfail = dns_question_only(m, n, kDnsServfail, false);
        if (!is_forwardable_query(m, n) || in_flight_ >= settings_.max_queries) {
            // A stream cannot retransmit: it is told at once.
            if (in_flight_ >= settings_.max_queries) counters_.dropped++;
            query->tcp = true;
            answered(*query, ARES_EREFUSED, nullptr, 0);
            continue;
        }
        // send() may end in answered() at once, which touches this stream.
        std::vector<uint8_t> message(m, m + n);
        send(true, std::move(query), message.data(), message.size());
        if (streams_.find(id) == streams_.end()) return false;
    }
    s.in.erase(s.in.begin(), s.in.begin() + static_cast<std::ptrdiff_t>(used));
    return true;
}

// Writes the answers waiting for the guest, as far as the socket takes them;
// a guest that went away marks the stream dead.
void DnsForwarder::write_stream_output(Stream& s) {
    while (!s.dead && !s.out.empty()) {
        ssize_t n = ::send(s.fd.get(), s.out.data(), s.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            s.out.erase(s.out.begin(), s.out.begin() + n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        s.dead = true;
    }
}
