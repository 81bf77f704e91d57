// SPDX-License-Identifier: GPL-2.0-or-later
// splice_forward.cpp: kernel-to-kernel port forwarding (see splice_forward.hpp).
#include "splice_forward.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "error.hpp"
#include "transparent_socket.hpp"

namespace {

// Bigger pipes mean fewer splice() calls per megabyte; the kernel may refuse
// (pipe-user-pages-soft), and then the default size is used.
constexpr int kWantedPipeSize = 1 << 20;
// How often one wakeup may move a pipe's worth of data in each direction
// before other connections get their turn.
constexpr int kPumpRounds = 8;
constexpr int kAcceptsPerWakeup = 64;
// Retries of a connect() that found no source address (see kDefaultAddrWaitMs).
constexpr int64_t kAddrRetryMs = 50;
constexpr size_t kSparePipes = 8;
constexpr unsigned kUdpBatch = 32;
constexpr size_t kUdpDatagramMax = 65536;
// Datagrams of a new peer kept while its flow's socket is being opened.
constexpr size_t kUdpWaiting = 64;
constexpr unsigned kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

// A reset propagates as a reset: closing with a zero linger sends RST.
void set_reset_on_close(int fd) {
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Every forwarded connection costs two sockets (plus pipes in flight): the
// default soft limit of 1024 would cap us near 500 connections.
void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur >= lim.rlim_max) return;
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
}

}  // namespace

SpliceForwarder::SpliceForwarder(EventLoop& loop, SocketOpener& opener, int64_t udp_idle_ms,
                                 int64_t addr_wait_ms)
    : loop_(loop), opener_(&opener), udp_idle_ms_(udp_idle_ms), addr_wait_ms_(addr_wait_ms) {
    raise_fd_limit();
    keep_spare_pipe();
}

SpliceForwarder::SpliceForwarder(EventLoop& loop)
    : loop_(loop), opener_(nullptr), udp_idle_ms_(kDefaultUdpIdleMs), addr_wait_ms_(0) {
    raise_fd_limit();
    keep_spare_pipe();
}

// Made before any connection: at the descriptor limit a pipe could not be
// made when bytes arrive, and the connection would be reset. With one in
// the pool, connections there still move their bytes, one pipe at a time.
void SpliceForwarder::keep_spare_pipe() {
    Pipe p;
    if (make_pipe(&p)) spare_pipes_.push_back(std::move(p));
}

uint64_t SpliceForwarder::join(UniqueFd host, UniqueFd guest) {
    auto conn = std::make_unique<Conn>();
    conn->host = std::move(host);
    conn->guest = std::move(guest);
    conn->connected = true;
    conn->host_events = conn->guest_events = POLLIN;
    set_nodelay(conn->host.get());
    set_nodelay(conn->guest.get());
    uint64_t id = next_id_++;
    int host_fd = conn->host.get(), guest_fd = conn->guest.get();
    conns_.emplace(id, std::move(conn));
    auto on = [this, id](bool on_host) {
        return [this, id, on_host](short revents) { conn_event(id, on_host, revents); };
    };
    if (!loop_.watch(host_fd, POLLIN, on(true), nullptr) ||
        !loop_.watch(guest_fd, POLLIN, on(false), nullptr))
        reset_conn(id);
    return id;
}

SpliceForwarder::~SpliceForwarder() {
    for (auto& [handle, l] : listeners_) loop_.unwatch(l.fd.get());
    for (auto& [id, c] : conns_) {
        loop_.unwatch(c->host.get());
        if (c->guest) loop_.unwatch(c->guest.get());
        if (c->retry_timer) loop_.cancel_timer(c->retry_timer);
    }
    for (auto& [id, f] : flows_)
        if (f->fd) loop_.unwatch(f->fd.get());
    if (idle_timer_) loop_.cancel_timer(idle_timer_);
}

bool SpliceForwarder::add(const SpliceRule& rule, Handle* added, std::string* err) {
    int family = rule.host.ss_family;
    if (!opener_) return fail(err, "this splice relay has no namespace to forward into");
    if ((family != AF_INET && family != AF_INET6) ||
        (rule.guest.ss_family != AF_INET && rule.guest.ss_family != AF_INET6) ||
        (rule.type != SOCK_STREAM && rule.type != SOCK_DGRAM))
        return fail(err, "splice forwarding needs an IPv4 or IPv6 TCP or UDP address");
    UniqueFd fd(socket(family, rule.type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fail(err, errno_text("socket"));
    int one = 1;
    if (rule.type == SOCK_STREAM) setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // "::" must not also claim the IPv4 port: an IPv4 rule may want it.
    if (family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&rule.host), rule.host_len) < 0)
        return fail(err, errno_text("cannot bind the host port"));
    if (rule.type == SOCK_STREAM && listen(fd.get(), SOMAXCONN) < 0)
        return fail(err, errno_text("listen"));
    Handle handle = next_handle_++;
    int raw = fd.get();
    if (rule.type == SOCK_DGRAM) ensure_udp_buffers();
    bool watched = rule.type == SOCK_STREAM
                       ? loop_.watch(
                             raw, POLLIN, [this, handle](short) { accept_tcp(handle); }, err)
                       : loop_.watch(
                             raw, POLLIN, [this, handle](short) { udp_from_host(handle); }, err);
    if (!watched) return false;
    listeners_.emplace(handle, Listener{rule.type, std::move(fd), rule.guest, rule.guest_len});
    *added = handle;
    return true;
}

bool SpliceForwarder::remove(Handle handle) {
    auto it = listeners_.find(handle);
    if (it == listeners_.end()) return false;
    std::vector<uint64_t> doomed;
    for (const auto& [id, f] : flows_)
        if (f->listener == handle) doomed.push_back(id);
    for (uint64_t id : doomed) close_flow(id);
    loop_.unwatch(it->second.fd.get());
    listeners_.erase(it);
    return true;
}

void SpliceForwarder::show_clients(in_addr gateway, const in6_addr& gateway6) {
    shows_clients_ = true;
    gateway_ = gateway;
    gateway6_ = gateway6;
}

SourceAddress SpliceForwarder::source_for(const sockaddr_storage& client, const Listener& l) const {
    if (!shows_clients_) return SourceAddress{};
    return source_as_guest_sees(client, l.guest.ss_family, gateway_, gateway6_);
}

uint16_t SpliceForwarder::bound_port(Handle handle) const {
    auto it = listeners_.find(handle);
    if (it == listeners_.end()) return 0;
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (getsockname(it->second.fd.get(), reinterpret_cast<sockaddr*>(&a), &len) < 0) return 0;
    return port_host_order(a);
}

// ---- TCP ----

void SpliceForwarder::accept_tcp(Handle handle) {
    for (int i = 0; i < kAcceptsPerWakeup; i++) {
        auto it = listeners_.find(handle);
        if (it == listeners_.end()) return;
        sockaddr_storage client{};
        socklen_t client_len = sizeof client;
        UniqueFd host(accept4(it->second.fd.get(), reinterpret_cast<sockaddr*>(&client),
                              &client_len, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!host) return;  // EAGAIN, or out of descriptors: the backlog keeps the rest
        auto conn = std::make_unique<Conn>();
        conn->host = std::move(host);
        conn->to = it->second.guest;
        conn->to_len = it->second.guest_len;
        conn->from = source_for(client, it->second);
        conn->give_up_ms = loop_.clock_ms() + addr_wait_ms_;
        uint64_t id = next_id_++;
        int host_fd = conn->host.get();
        conns_.emplace(id, std::move(conn));
        // Until the namespace side is connected, only its completion matters;
        // the host side is watched for errors alone.
        if (!loop_.watch(
                host_fd, 0, [this, id](short revents) { conn_event(id, true, revents); },
                nullptr)) {
            close_conn(id, host_fd);
            continue;
        }
        connect_guest(id);
    }
}

void SpliceForwarder::connect_guest(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    c.retry_timer = 0;
    opener_->open_socket(SOCK_STREAM, c.to, c.to_len, c.from,
                         [this, id](UniqueFd guest, int error_number, const std::string&) {
                             guest_opened(id, std::move(guest), error_number);
                         });
}

// The namespace side's socket, or why there is none. The client may have
// left meanwhile: then the socket just closes.
void SpliceForwarder::guest_opened(uint64_t id, UniqueFd guest, int error_number) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    if (!guest) {
        // No source address yet (a tentative IPv6 address, or every local
        // port in use): passing, so the client waits, a bounded time, on a
        // timer rather than in the loop. Anything else refuses it now.
        int64_t now = loop_.clock_ms();
        if (error_number == EADDRNOTAVAIL && now < c.give_up_ms) {
            int64_t next = std::min(now + kAddrRetryMs, c.give_up_ms);
            c.retry_timer = loop_.add_timer(next, [this, id] { connect_guest(id); });
            return;
        }
        close_conn(id, c.host.get());
        return;
    }
    c.guest = std::move(guest);
    if (!loop_.watch(
            c.guest.get(), POLLOUT, [this, id](short revents) { conn_event(id, false, revents); },
            nullptr))
        close_conn(id, c.host.get());
}

bool SpliceForwarder::make_pipe(Pipe* p) {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return false;
    p->r.reset(fds[0]);
    p->w.reset(fds[1]);
    // Over the per-user pipe budget the kernel refuses; the default size works.
    fcntl(fds[1], F_SETPIPE_SZ, kWantedPipeSize);
    int size = fcntl(fds[1], F_GETPIPE_SZ);
    p->size = size > 0 ? static_cast<size_t>(size) : 4096;
    return true;
}

bool SpliceForwarder::acquire_pipe(Direction& d) {
    if (d.pipe.r) return true;
    if (!spare_pipes_.empty()) {
        d.pipe = std::move(spare_pipes_.back());
        spare_pipes_.pop_back();
        return true;
    }
    return make_pipe(&d.pipe);
}

void SpliceForwarder::release_pipe(Direction& d) {
    if (!d.pipe.r || d.pending != 0) return;
    if (spare_pipes_.size() < kSparePipes) spare_pipes_.push_back(std::move(d.pipe));
    d.pipe = Pipe{};
}

SpliceForwarder::Pump SpliceForwarder::pump(int from, int to, Direction& d, uint64_t& moved) {
    for (int round = 0; round < kPumpRounds; round++) {
        bool progress = false, drained = false;
        if (!d.eof && (!d.pipe.r || d.pending < d.pipe.size)) {
            if (!acquire_pipe(d)) return Pump::FromFailed;
            size_t room = d.pipe.size - d.pending;
            ssize_t n = splice(from, nullptr, d.pipe.w.get(), nullptr, room, kSpliceFlags);
            if (n > 0) {
                d.pending += static_cast<size_t>(n);
                progress = true;
                // Less than there was room for: the socket is empty for now
                // (a request, or the tail of a burst). Asking again would
                // only return EAGAIN; its next data brings a new event.
                drained = static_cast<size_t>(n) < room;
            } else if (n == 0) {
                d.eof = true;
            } else if (errno != EAGAIN && errno != EINTR) {
                return Pump::FromFailed;
            }
        }
        if (d.pending > 0) {
            ssize_t n = splice(d.pipe.r.get(), nullptr, to, nullptr, d.pending, kSpliceFlags);
            if (n > 0) {
                d.pending -= static_cast<size_t>(n);
                moved += static_cast<uint64_t>(n);
                progress = true;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                return Pump::ToFailed;
            }
        }
        if (!progress || (drained && d.pending == 0)) break;
    }
    release_pipe(d);
    if (d.eof && d.pending == 0 && !d.shut) {
        shutdown(to, SHUT_WR);
        d.shut = true;
    }
    return Pump::Ok;
}

void SpliceForwarder::relay_from_guest_now(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    const Conn& c = *it->second;
    if (!c.connected || !c.guest_watched || !(c.guest_events & POLLIN)) return;
    uint64_t sent = bytes_from_guest_;
    conn_event(id, false, POLLIN);
    // A host peer on this CPU has often answered within our splice (it ran
    // as soon as it was woken): its answer goes on in the same turn.
    it = conns_.find(id);
    if (it == conns_.end() || bytes_from_guest_ == sent) return;
    const Conn& after = *it->second;
    if (after.host_watched && (after.host_events & POLLIN)) conn_event(id, true, POLLIN);
}

void SpliceForwarder::conn_event(uint64_t id, bool on_host, short revents) {
    uint64_t before = bytes_to_guest_;
    handle_conn_event(id, on_host, revents);
    uint64_t moved = bytes_to_guest_ - before;
    if (moved > 0 && moved <= EventLoop::kLargestPromptMessage && small_move_to_guest_)
        small_move_to_guest_();
}

void SpliceForwarder::handle_conn_event(uint64_t id, bool on_host, short revents) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    int host = c.host.get(), guest = c.guest.get();
    bool first_event = false;
    if (!c.connected) {
        if (on_host) {
            // The host client gave up before the namespace side answered.
            if (revents & (POLLERR | POLLHUP)) close_conn(id, guest);
            return;
        }
        if (socket_error(guest) != 0) {
            close_conn(id, host);  // refused or unreachable inside: refuse the client
            return;
        }
        c.connected = true;
        set_nodelay(host);
        set_nodelay(guest);
        first_event = true;
    }
    // Only the directions this event can move: host -> guest reads the host
    // socket and writes the guest's, guest -> host the other way round. An
    // error or hang-up may end either, and the first event pumps both.
    bool either = (revents & (POLLERR | POLLHUP)) || first_event;
    bool readable = revents & POLLIN, writable = revents & POLLOUT;
    bool pump_up = either || (on_host ? readable : writable);
    bool pump_down = either || (on_host ? writable : readable);
    uint64_t moved_before = bytes_to_guest_ + bytes_from_guest_;
    Pump up = pump_up ? pump(host, guest, c.up, bytes_to_guest_) : Pump::Ok;
    if (up != Pump::Ok) {
        close_conn(id, up == Pump::FromFailed ? guest : host);
        return;
    }
    Pump down = pump_down ? pump(guest, host, c.down, bytes_from_guest_) : Pump::Ok;
    if (down != Pump::Ok) {
        close_conn(id, down == Pump::FromFailed ? host : guest);
        return;
    }
    uint64_t moved = bytes_to_guest_ + bytes_from_guest_ - moved_before;
    if (moved > 0 && moved <= EventLoop::kLargestPromptMessage) loop_.expect_prompt_events();
    if (c.up.shut && c.down.shut) {
        close_conn(id, -1);
        return;
    }
    // An error, or a hang-up before our FIN went in, on a socket we still
    // need: it can no longer carry the rest of the stream, so the other side
    // is told with a reset. A hang-up after our FIN only means its peer has
    // closed too: what it still holds is read out (one pump round moves at
    // most a few pipes' worth) before its EOF.
    bool needed = on_host ? !(c.up.eof && c.down.shut) : !(c.down.eof && c.up.shut);
    bool fin_sent = on_host ? c.down.shut : c.up.shut;
    if (needed && ((revents & POLLERR) || ((revents & POLLHUP) && !fin_sent))) {
        close_conn(id, on_host ? guest : host);
        return;
    }
    if (revents & POLLHUP) (on_host ? c.host_hung_up : c.guest_hung_up) = true;
    update_watches(id, c);
}

void SpliceForwarder::update_watches(uint64_t id, Conn& c) {
    // A direction reads only with an empty pipe and writes only with a full
    // one: that is the backpressure (a slow reader stops its writer's reads).
    auto events = [](const Direction& reading, const Direction& writing) {
        short ev = 0;
        if (!reading.eof && reading.pending == 0) ev |= POLLIN;
        if (writing.pending > 0) ev |= POLLOUT;
        return ev;
    };
    // A socket that has delivered its FIN and been sent ours has nothing left
    // to report. A hung-up one reports POLLHUP whatever it is asked for, so
    // while it waits for its pipe to drain it is not watched at all (the
    // other socket's events bring it back); either would only spin.
    auto place = [&](bool on_host, bool needed, short ev) {
        int fd = on_host ? c.host.get() : c.guest.get();
        bool& watched = on_host ? c.host_watched : c.guest_watched;
        short& last = on_host ? c.host_events : c.guest_events;
        bool hung_up = on_host ? c.host_hung_up : c.guest_hung_up;
        if (!needed || (hung_up && ev == 0)) {
            if (watched) loop_.unwatch(fd);
            watched = false;
            return true;
        }
        if (!watched) {
            auto handler = [this, id, on_host](short revents) { conn_event(id, on_host, revents); };
            if (!loop_.watch(fd, ev, handler, nullptr)) return false;
            watched = true;
        } else if (ev != last) {
            // set_events() is a system call (epoll_ctl): skipped when nothing changed.
            loop_.set_events(fd, ev);
        }
        last = ev;
        return true;
    };
    // A side the loop can no longer watch would stall the stream for good.
    if (!place(true, !(c.up.eof && c.down.shut), events(c.up, c.down)) ||
        !place(false, !(c.down.eof && c.up.shut), events(c.down, c.up)))
        reset_conn(id);
}

void SpliceForwarder::reset_conn(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    set_reset_on_close(it->second->guest.get());
    close_conn(id, it->second->host.get());
}

void SpliceForwarder::close_conn(uint64_t id, int reset_fd) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    loop_.unwatch(c.host.get());
    if (c.guest) loop_.unwatch(c.guest.get());
    if (c.retry_timer) loop_.cancel_timer(c.retry_timer);
    if (reset_fd >= 0) set_reset_on_close(reset_fd);
    conns_.erase(it);
}

// ---- UDP ----

void SpliceForwarder::ensure_udp_buffers() {
    if (udp_buffers_.empty()) udp_buffers_.resize(kUdpBatch * kUdpDatagramMax);
}

uint64_t SpliceForwarder::find_or_open_flow(Handle handle, const Listener& l,
                                            const sockaddr_storage& peer, socklen_t peer_len) {
    auto key = std::make_pair(handle, std::string(reinterpret_cast<const char*>(&peer), peer_len));
    auto found = flow_by_peer_.find(key);
    if (found != flow_by_peer_.end()) return found->second;
    SourceAddress from = source_for(peer, l);
    // A transparent flow's reply rule is named by the port it is for.
    uint16_t diverted_port = from.len > 0 ? port_host_order(l.guest) : 0;
    uint64_t id = next_id_++;
    auto flow =
        std::make_unique<Flow>(Flow{UniqueFd(), handle, peer, peer_len, loop_.clock_ms(), {}});
    flows_.emplace(id, std::move(flow));
    flow_by_peer_.emplace(std::move(key), id);
    arm_idle_timer();
    opener_->open_socket(SOCK_DGRAM, l.guest, l.guest_len, from,
                         [this, id, diverted_port](UniqueFd fd, int, const std::string&) {
                             flow_opened(id, std::move(fd), diverted_port);
                         });
    return id;
}

// Datagrams that came while the flow's socket was being opened go first.
void SpliceForwarder::flow_opened(uint64_t id, UniqueFd fd, uint16_t diverted_port) {
    // The helper names the flow's reply rule by where the socket is bound;
    // a flow that ended while its socket was coming hands the rule back now.
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    bool diverted = fd && diverted_port != 0 &&
                    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len) == 0;
    auto it = flows_.find(id);
    if (it == flows_.end()) {
        if (diverted) opener_->release_udp_flow(local, diverted_port);
        return;
    }
    if (!fd) {
        close_flow(id);
        return;
    }
    Flow& f = *it->second;
    f.fd = std::move(fd);
    f.diverted = diverted;
    f.local = local;
    f.guest_port = diverted_port;
    if (!loop_.watch(
            f.fd.get(), POLLIN, [this, id](short) { udp_from_guest(id); }, nullptr)) {
        close_flow(id);
        return;
    }
    for (const std::string& datagram : f.waiting)
        send(f.fd.get(), datagram.data(), datagram.size(), MSG_DONTWAIT);
    f.waiting.clear();
    f.waiting.shrink_to_fit();
}

void SpliceForwarder::udp_from_host(Handle handle) {
    auto it = listeners_.find(handle);
    if (it == listeners_.end()) return;
    const Listener& l = it->second;
    mmsghdr in[kUdpBatch] = {};
    iovec iov[kUdpBatch];
    sockaddr_storage peers[kUdpBatch];
    for (unsigned i = 0; i < kUdpBatch; i++) {
        iov[i] = {udp_buffers_.data() + i * kUdpDatagramMax, kUdpDatagramMax};
        in[i].msg_hdr.msg_iov = &iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
        in[i].msg_hdr.msg_name = &peers[i];
        in[i].msg_hdr.msg_namelen = sizeof peers[i];
    }
    int n = recvmmsg(l.fd.get(), in, kUdpBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    int64_t now = loop_.clock_ms();
    // Consecutive datagrams of one peer leave in one sendmmsg().
    mmsghdr out[kUdpBatch] = {};
    iovec out_iov[kUdpBatch];
    int i = 0;
    while (i < n) {
        uint64_t flow_id = find_or_open_flow(handle, l, peers[i], in[i].msg_hdr.msg_namelen);
        int j = i;
        unsigned count = 0;
        while (j < n && in[j].msg_hdr.msg_namelen == in[i].msg_hdr.msg_namelen &&
               std::memcmp(&peers[j], &peers[i], in[i].msg_hdr.msg_namelen) == 0) {
            out_iov[count] = {iov[j].iov_base, in[j].msg_len};
            out[count].msg_hdr = {};
            out[count].msg_hdr.msg_iov = &out_iov[count];
            out[count].msg_hdr.msg_iovlen = 1;
            count++;
            j++;
        }
        auto f = flows_.find(flow_id);
        if (f != flows_.end() && f->second->fd) {
            f->second->last_active_ms = now;
            // A full socket buffer drops datagrams, as the network would.
            sendmmsg(f->second->fd.get(), out, count, MSG_DONTWAIT);
        } else if (f != flows_.end()) {
            // Still opening: a few wait, as a socket buffer would hold them.
            for (unsigned k = 0; k < count && f->second->waiting.size() < kUdpWaiting; k++)
                f->second->waiting.emplace_back(static_cast<const char*>(out_iov[k].iov_base),
                                                out_iov[k].iov_len);
        }
        i = j;
    }
}

void SpliceForwarder::udp_from_guest(uint64_t flow_id) {
    auto it = flows_.find(flow_id);
    if (it == flows_.end()) return;
    Flow& f = *it->second;
    auto l = listeners_.find(f.listener);
    if (l == listeners_.end()) return;
    mmsghdr msgs[kUdpBatch] = {};
    iovec iov[kUdpBatch];
    for (unsigned i = 0; i < kUdpBatch; i++) {
        iov[i] = {udp_buffers_.data() + i * kUdpDatagramMax, kUdpDatagramMax};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(f.fd.get(), msgs, kUdpBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;  // includes ECONNREFUSED: the guest port is closed for now
    for (int i = 0; i < n; i++) {
        iov[i].iov_len = msgs[i].msg_len;
        msgs[i].msg_hdr.msg_name = &f.peer;
        msgs[i].msg_hdr.msg_namelen = f.peer_len;
    }
    f.last_active_ms = loop_.clock_ms();
    sendmmsg(l->second.fd.get(), msgs, static_cast<unsigned>(n), MSG_DONTWAIT);
}

void SpliceForwarder::close_flow(uint64_t flow_id) {
    auto it = flows_.find(flow_id);
    if (it == flows_.end()) return;
    Flow& f = *it->second;
    if (f.fd) loop_.unwatch(f.fd.get());
    if (f.diverted) opener_->release_udp_flow(f.local, f.guest_port);
    flow_by_peer_.erase(std::make_pair(
        f.listener, std::string(reinterpret_cast<const char*>(&f.peer), f.peer_len)));
    flows_.erase(it);
}

void SpliceForwarder::arm_idle_timer() {
    if (idle_timer_ || flows_.empty()) return;
    int64_t oldest = loop_.clock_ms();
    for (const auto& [id, f] : flows_) oldest = std::min(oldest, f->last_active_ms);
    idle_timer_ = loop_.add_timer(oldest + udp_idle_ms_, [this] {
        idle_timer_ = 0;
        expire_idle_flows();
    });
}

void SpliceForwarder::expire_idle_flows() {
    int64_t now = loop_.clock_ms();
    std::vector<uint64_t> idle;
    for (const auto& [id, f] : flows_)
        if (now - f->last_active_ms >= udp_idle_ms_) idle.push_back(id);
    for (uint64_t id : idle) close_flow(id);
    arm_idle_timer();
}
