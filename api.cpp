// SPDX-License-Identifier: GPL-2.0-or-later
// api.cpp: the API socket server (see api.hpp). Every descriptor here is
// non-blocking and watched by the event loop; nothing waits on a client.
#include "api.hpp"

#include <fcntl.h>
#include <libslirp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "api_request.hpp"
#include "error.hpp"
#include "splice_forward.hpp"
#include "unix_socket.hpp"

namespace {

constexpr int kBacklog = 128;
// Connections accepted per wakeup before the loop serves other descriptors.
constexpr int kAcceptsPerWakeup = 64;
// When accept() runs out of descriptors with no client to drop, the listener
// rests this long instead of spinning on a readiness it cannot act on.
constexpr int64_t kAcceptPauseMs = 100;

struct Client {
    UniqueFd fd;
    std::string in;
    std::string out;
    size_t sent = 0;
    bool answered = false;
    bool waiting = false;   // answered; the reply waits for a forward to be in place
    bool draining = false;  // reply sent; discarding input until the client closes
    int64_t accepted_ms = 0;
    EventLoop::TimerId timer = 0;
};

struct SockAddr {
    sockaddr_storage storage{};
    socklen_t length = 0;
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

SockAddr to_sockaddr(const IpAddress& address, int port) {
    SockAddr out;
    if (address.family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
        sin->sin_family = AF_INET;
        sin->sin_addr = address.v4;
        sin->sin_port = htons(static_cast<uint16_t>(port));
        out.length = sizeof *sin;
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = address.v6;
        sin6->sin6_port = htons(static_cast<uint16_t>(port));
        out.length = sizeof *sin6;
    }
    return out;
}

bool plain_ipv4(const HostfwdSpec& spec) {
    return spec.host_addr.family == AF_INET && spec.guest_addr.family == AF_INET;
}

// An IPv6 host address means IPv6 only: "::" must not also take the IPv4
// port, which a separate 0.0.0.0 forward may hold.
int xfwd_flags(const HostfwdSpec& spec) {
    int flags = spec.udp ? SLIRP_HOSTFWD_UDP : 0;
    if (spec.host_addr.family == AF_INET6) flags |= SLIRP_HOSTFWD_V6ONLY;
    return flags;
}

class UnixApiServer : public ApiServer {
   public:
    UnixApiServer(const ApiContext& context, UniqueFd listener, SocketFile file)
        : slirp_(context.slirp),
          stats_(context.stats),
          loop_(context.loop),
          splice_(context.splice),
          slirp_tcp_forward_(context.slirp_tcp_forward),
          slirp_tcp_forward_pending_(context.slirp_tcp_forward_pending),
          slirp_udp_forward_(context.slirp_udp_forward),
          listener_(std::move(listener)),
          file_(std::move(file)) {
        defaults_.guest_addr = context.options.network.guest;
        defaults_.ipv6 = context.options.enable_ipv6;
        defaults_.mode = context.options.port_forward_mode;
        defaults_.splice_shows_clients = splice_ != nullptr && splice_->shows_clients();
        keep_spare();
    }

    bool listen(std::string* err) {
        return loop_.watch(
            listener_.get(), POLLIN, [this](short) { accept_clients(); }, err);
    }

    ~UnixApiServer() override {
        loop_.unwatch(listener_.get());
        if (pause_timer_) loop_.cancel_timer(pause_timer_);
        while (!clients_.empty()) close_client(clients_.begin()->first);
    }

    SocketFile& socket_file() override { return file_; }

   private:
    void accept_clients() {
        bool made_room = false;
        for (int i = 0; i < kAcceptsPerWakeup; i++) {
            int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    // accept() fails so even when nobody waits: room is made
                    // for one client per wakeup, and poll() says if more wait.
                    if (made_room) return;
                    if (spare_) {
                        spare_.reset();  // its slot is the one accept() takes now
                    } else if (!drop_oldest_client()) {
                        pause_accepting();
                        return;
                    }
                    made_room = true;
                    continue;
                }
                keep_spare();
                return;  // EAGAIN, or a connection that died before we took it
            }
            if (clients_.size() >= kApiMaxClients) drop_oldest_client();
            add_client(UniqueFd(fd));
        }
    }

    void pause_accepting() {
        if (pause_timer_) return;
        loop_.set_events(listener_.get(), 0);
        pause_timer_ = loop_.add_timer(loop_.clock_ms() + kAcceptPauseMs, [this] {
            pause_timer_ = 0;
            loop_.set_events(listener_.get(), POLLIN);
        });
    }

    bool drop_oldest_client() {
        if (clients_.empty()) return false;
        auto oldest = std::min_element(clients_.begin(), clients_.end(), [](auto& a, auto& b) {
            return a.second->accepted_ms < b.second->accepted_ms;
        });
        clients_dropped_++;
        close_client(oldest->first);
        return true;
    }

    void add_client(UniqueFd fd) {
        int key = fd.get();
        auto client = std::make_unique<Client>();
        client->fd = std::move(fd);
        client->accepted_ms = loop_.clock_ms();
        client->timer = loop_.add_timer(client->accepted_ms + kApiClientTimeoutMs, [this, key] {
            auto it = clients_.find(key);
            if (it == clients_.end()) return;
            it->second->timer = 0;
            clients_dropped_++;
            close_client(key);
        });
        clients_[key] = std::move(client);
        // A client the loop cannot watch would never be answered.
        std::string why;
        if (!loop_.watch(
                key, POLLIN, [this, key](short revents) { on_client_ready(key, revents); }, &why)) {
            log_error("API client dropped: " + why);
            close_client(key);
        }
    }

    void close_client(int key) {
        auto it = clients_.find(key);
        if (it == clients_.end()) return;
        if (it->second->timer) loop_.cancel_timer(it->second->timer);
        loop_.unwatch(key);
        clients_.erase(it);  // closes the descriptor
        keep_spare();
    }

    // libslirp opens a socket per guest connection and may take every
    // descriptor the limit allows; a spare one is held so that the API can
    // still take a client then, and is taken back as soon as a slot frees.
    void keep_spare() {
        if (!spare_) spare_ = UniqueFd(fcntl(listener_.get(), F_DUPFD_CLOEXEC, 0));
    }

    void on_client_ready(int key, short revents) {
        auto it = clients_.find(key);
        if (it == clients_.end()) return;
        Client& client = *it->second;
        if (client.waiting) {
            if (revents & (POLLERR | POLLHUP)) close_client(key);
            return;
        }
        if (client.draining) {
            drain(key, client);
        } else if (client.answered) {
            flush_reply(key, client);
        } else {
            read_request(key, client, revents);
        }
    }

    void read_request(int key, Client& client, short revents) {
        char buffer[kApiMaxRequest];
        for (;;) {
            size_t room = kApiMaxRequest - client.in.size();
            ssize_t n = read(client.fd.get(), buffer, room);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                close_client(key);  // the client went away without a request
                return;
            }
            client.in.append(buffer, static_cast<size_t>(n));
            FrameState state = frame_state(client.in, n == 0);
            if (state != FrameState::Incomplete) {
                answer(key, client, state);
                return;
            }
        }
        if (revents & (POLLERR | POLLHUP)) close_client(key);
    }

    void answer(int key, Client& client, FrameState state) {
        std::string failure;
        bool ok = state != FrameState::TooLarge && handle(client.in, &client.out, &failure);
        if (state == FrameState::TooLarge) failure = api_error::kTooLarge;
        if (!ok) client.out = format_error(failure);
        stats_.api_requests++;
        if (!ok) stats_.api_failures++;
        client.answered = true;
        client.in.clear();
        client.in.shrink_to_fit();
        if (ok && slirp_tcp_forward_pending_ &&
            slirp_tcp_forward_pending_([this, key] { reply_now(key); })) {
            client.waiting = true;
            loop_.set_events(key, 0);
            return;
        }
        loop_.set_events(key, POLLOUT);
        flush_reply(key, client);
    }

    void reply_now(int key) {
        auto it = clients_.find(key);
        if (it == clients_.end() || !it->second->waiting) return;  // gone meanwhile
        it->second->waiting = false;
        loop_.set_events(key, POLLOUT);
        flush_reply(key, *it->second);
    }

    void flush_reply(int key, Client& client) {
        while (client.sent < client.out.size()) {
            ssize_t n = send(client.fd.get(), client.out.data() + client.sent,
                             client.out.size() - client.sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) return;  // POLLOUT brings us back
                close_client(key);
                return;
            }
            client.sent += static_cast<size_t>(n);
        }
        // The reply is out: the client sees EOF now. Closing at once would
        // turn any bytes it is still sending (an oversized request) into
        // ECONNRESET/EPIPE on its side, hiding the reply; instead the rest is
        // read and thrown away until the client closes (or the timeout).
        shutdown(client.fd.get(), SHUT_WR);
        client.draining = true;
        loop_.set_events(key, POLLIN);
        drain(key, client);
    }

    void drain(int key, Client& client) {
        char sink[16384];
        for (;;) {
            ssize_t n = read(client.fd.get(), sink, sizeof sink);
            if (n > 0) continue;
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;
            close_client(key);
            return;
        }
    }

    // Sets *reply, or *err to the error desc to reply with.
    bool handle(std::string_view bytes, std::string* reply, std::string* err) {
        ApiRequest request;
        if (!parse_request(bytes, defaults_, &request, err)) return false;
        switch (request.command) {
            case ApiCommand::AddHostfwd:
                return add_hostfwd(request.hostfwd, reply, err);
            case ApiCommand::RemoveHostfwd:
                return remove_hostfwd(request.remove_id, reply, err);
            case ApiCommand::ListHostfwd:
                *reply = format_list(table_);
                return true;
            case ApiCommand::GetStats:
                if (stats_.refresh) stats_.refresh(stats_);
                *reply = format_stats(stats_, table_.entries().size(), clients_dropped_,
                                      loop_.clock_ms());
                return true;
        }
        return fail(err, api_error::kUnknownExecute);
    }

    bool add_hostfwd(const HostfwdSpec& spec, std::string* reply, std::string* err) {
        if (const HostfwdEntry* existing = table_.conflicting(spec))
            return fail(err, duplicate_error(existing->id));
        if (spec.mode == PortForwardMode::Splice) return add_splice_hostfwd(spec, reply, err);
        bool tcp_hook = !spec.udp && slirp_tcp_forward_;
        if (tcp_hook && !slirp_tcp_forward_(static_cast<uint16_t>(spec.guest_port), true)) {
            log_error(
                "add_hostfwd: the kernel TCP path leaves no more guest ports to slirp-mode "
                "forwards; use mode splice");
            return fail(err, api_error::kAddFailed);
        }
        int rc;
        if (plain_ipv4(spec)) {
            rc = slirp_add_hostfwd(slirp_, spec.udp ? 1 : 0, spec.host_addr.v4, spec.host_port,
                                   spec.guest_addr.v4, spec.guest_port);
        } else {
            SockAddr host = to_sockaddr(spec.host_addr, spec.host_port);
            SockAddr guest = to_sockaddr(spec.guest_addr, spec.guest_port);
            rc = slirp_add_hostxfwd(slirp_, host.get(), host.length, guest.get(), guest.length,
                                    xfwd_flags(spec));
        }
        if (rc < 0) {
            if (tcp_hook) slirp_tcp_forward_(static_cast<uint16_t>(spec.guest_port), false);
            return fail(err, api_error::kAddFailed);
        }
        if (spec.udp && slirp_udp_forward_)
            slirp_udp_forward_(static_cast<uint16_t>(spec.guest_port), true);
        *reply = format_added(table_.add(spec));
        return true;
    }

    bool add_splice_hostfwd(const HostfwdSpec& spec, std::string* reply, std::string* err) {
        if (!splice_) return fail(err, api_error::kNoSplice);
        SockAddr host = to_sockaddr(spec.host_addr, spec.host_port);
        SockAddr guest = to_sockaddr(spec.guest_addr, spec.guest_port);
        SpliceRule rule;
        rule.type = spec.udp ? SOCK_DGRAM : SOCK_STREAM;
        rule.host = host.storage;
        rule.host_len = host.length;
        rule.guest = guest.storage;
        rule.guest_len = guest.length;
        SpliceForwarder::Handle handle = 0;
        std::string cause;
        if (!splice_->add(rule, &handle, &cause)) {
            // The reply keeps slirp4netns's words, which clients match; the
            // cause (the bind's errno, say) goes to the log.
            log_error("add_hostfwd " + spec.host_addr_text + ":" + std::to_string(spec.host_port) +
                      ": " + cause);
            return fail(err, api_error::kAddFailed);
        }
        uint64_t id = table_.add(spec);
        splice_handles_[id] = handle;
        *reply = format_added(id);
        return true;
    }

    bool remove_hostfwd(uint64_t id, std::string* reply, std::string* err) {
        const HostfwdEntry* entry = table_.find(id);
        int rc = -1;
        if (entry != nullptr && entry->spec.mode == PortForwardMode::Splice) {
            auto handle = splice_handles_.find(id);
            if (handle != splice_handles_.end() && splice_ && splice_->remove(handle->second)) {
                splice_handles_.erase(handle);
                rc = 0;
            }
        } else if (entry != nullptr) {
            const HostfwdSpec& spec = entry->spec;
            if (plain_ipv4(spec)) {
                rc = slirp_remove_hostfwd(slirp_, spec.udp ? 1 : 0, spec.host_addr.v4,
                                          spec.host_port);
            } else {
                SockAddr host = to_sockaddr(spec.host_addr, spec.host_port);
                rc = slirp_remove_hostxfwd(slirp_, host.get(), host.length, xfwd_flags(spec));
            }
        }
        if (rc < 0) return fail(err, api_error::kRemoveFailed);
        if (entry->spec.mode != PortForwardMode::Splice && !entry->spec.udp && slirp_tcp_forward_)
            slirp_tcp_forward_(static_cast<uint16_t>(entry->spec.guest_port), false);
        if (entry->spec.mode != PortForwardMode::Splice && entry->spec.udp && slirp_udp_forward_)
            slirp_udp_forward_(static_cast<uint16_t>(entry->spec.guest_port), false);
        table_.remove(id);
        *reply = format_empty_return();
        return true;
    }

    Slirp* slirp_;
    Stats& stats_;
    EventLoop& loop_;
    SpliceForwarder* splice_;
    std::function<bool(uint16_t, bool)> slirp_tcp_forward_;
    std::function<bool(std::function<void()>)> slirp_tcp_forward_pending_;
    std::function<void(uint16_t, bool)> slirp_udp_forward_;
    RequestDefaults defaults_;
    UniqueFd listener_;
    // Removed when the server goes (file_ is destroyed last of the two), only
    // while it is still the socket bound: a path replaced meanwhile is theirs.
    SocketFile file_;
    std::map<int, std::unique_ptr<Client>> clients_;
    HostfwdTable table_;
    std::map<uint64_t, SpliceForwarder::Handle> splice_handles_;  // API id -> forwarder
    uint64_t clients_dropped_ = 0;
    EventLoop::TimerId pause_timer_ = 0;
    UniqueFd spare_;  // a duplicate of listener_, never polled
};

}  // namespace

bool ApiServer::start(const ApiContext& context, std::unique_ptr<ApiServer>* out,
                      std::string* err) {
    const std::string& path = context.options.api_socket;
    if (path.back() == '/')
        return fail(err, "API socket path \"" + path + "\" names a directory, not a socket file");
    UniqueFd listener;
    std::string why;
    if (!listen_unix_socket(path, SOCK_STREAM, kBacklog, &listener, &why))
        return fail(err, "API socket: " + why);
    SocketFile file;
    if (!file.remember(path, &why)) {
        unlink(path.c_str());
        return fail(err, "API socket: " + why);
    }
    auto server = std::make_unique<UnixApiServer>(context, std::move(listener), std::move(file));
    if (!server->listen(err)) return false;
    *out = std::move(server);
    return true;
}
