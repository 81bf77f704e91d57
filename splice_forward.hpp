// SPDX-License-Identifier: GPL-2.0-or-later
// splice_forward.hpp owns the "splice" port-forwarding mode: host-side
// listeners whose connections are joined to sockets opened inside the target
// namespace (by the NetnsHelper), so bytes move kernel to kernel. TCP goes
// through splice(2) with one pipe per direction while data is in flight; UDP
// is relayed in batches (recvmmsg/sendmmsg) over one connected socket per
// host peer, dropped after an idle timeout. Everything runs in the daemon's
// single EventLoop; there is no thread per connection.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "socket_opener.hpp"
#include "unique_fd.hpp"

struct SpliceRule {
    int type = SOCK_STREAM;   // SOCK_STREAM or SOCK_DGRAM
    sockaddr_storage host{};  // where to listen on the host side
    socklen_t host_len = 0;
    sockaddr_storage guest{};  // where to connect inside the namespace
    socklen_t guest_len = 0;
};

class SpliceForwarder {
   public:
    using Handle = uint64_t;
    // Matches the usual UDP conntrack lifetime for unreplied-to flows.
    static constexpr int64_t kDefaultUdpIdleMs = 90 * 1000;
    // How long an accepted connection waits for the namespace to have a
    // usable source address (connect() fails EADDRNOTAVAIL while an IPv6
    // address is tentative: duplicate address detection takes 1-2 s).
    static constexpr int64_t kDefaultAddrWaitMs = 5 * 1000;

    SpliceForwarder(EventLoop& loop, SocketOpener& opener, int64_t udp_idle_ms = kDefaultUdpIdleMs,
                    int64_t addr_wait_ms = kDefaultAddrWaitMs);
    // A relay only, with no listeners: join() connections made elsewhere
    // (the kernel TCP path's). add() refuses.
    explicit SpliceForwarder(EventLoop& loop);
    ~SpliceForwarder();
    SpliceForwarder(const SpliceForwarder&) = delete;
    SpliceForwarder& operator=(const SpliceForwarder&) = delete;

    // Binds and listens; *handle is non-zero.
    bool add(const SpliceRule& rule, Handle* handle, std::string* err);
    // Closes the listener: new connections are refused, open TCP connections
    // run to their natural end, UDP flows of this rule are dropped. Returns
    // false for an unknown handle.
    bool remove(Handle handle);
    // The port actually bound (useful when the rule asked for port 0).
    uint16_t bound_port(Handle handle) const;

    // From now on the namespace side of each new connection and UDP flow
    // comes from the client's address as slirp mode would show it (see
    // transparent_socket.hpp): gateway and gateway6 stand in for loopback
    // clients and those of the other family. Only once the helper has set up
    // transparent routing (transparent_routing.hpp).
    void show_clients(in_addr gateway, const in6_addr& gateway6);
    bool shows_clients() const { return shows_clients_; }

    // Relays two connected TCP sockets until both directions have ended, as
    // for an accepted forward; the "host" side is the one that connected out.
    // Returns the connection's id; should the loop refuse to watch either
    // socket, both are reset and the id is closed at once.
    uint64_t join(UniqueFd host, UniqueFd guest);
    bool is_open(uint64_t id) const { return conns_.count(id) > 0; }
    // Relays what the guest side of a joined connection holds now, as if
    // the loop had reported it readable: the kernel TCP path, having just
    // written a small request into the private kernel (which queued it on
    // the socket within that write), saves the loop cycle that would only
    // report it. When that sent bytes, the host side is tried in the same
    // turn: a host peer on this CPU has usually answered within our splice.
    // Nothing happens while the connection waits for its host side to
    // drain (backpressure), as with the loop's own events.
    void relay_from_guest_now(uint64_t id);
    // Called after an event moved a few bytes (request/response traffic,
    // up to EventLoop::kLargestPromptMessage) into a guest side: its
    // kernel has sent them on within the splice, and the kernel TCP path
    // passes them to the guest at once rather than a loop cycle later.
    void on_small_move_to_guest(std::function<void()> handler) {
        small_move_to_guest_ = std::move(handler);
    }

    size_t tcp_connections() const { return conns_.size(); }
    // Bytes moved by TCP connections, host -> guest and guest -> host.
    uint64_t tcp_bytes_to_guest() const { return bytes_to_guest_; }
    uint64_t tcp_bytes_from_guest() const { return bytes_from_guest_; }
    size_t udp_flows() const { return flows_.size(); }

   private:
    struct Pipe {
        UniqueFd r, w;
        size_t size = 0;
    };
    struct Direction {
        Pipe pipe;           // held only while bytes are in flight
        size_t pending = 0;  // bytes in the pipe
        bool eof = false;    // the source sent FIN
        bool shut = false;   // FIN passed on (shutdown(SHUT_WR) on the destination)
    };
    struct Conn {
        UniqueFd host, guest;
        Direction up, down;  // host -> guest, guest -> host
        bool connected = false;
        bool host_watched = true, guest_watched = true;
        bool host_hung_up = false, guest_hung_up = false;  // POLLHUP seen
        short host_events = 0, guest_events = POLLOUT;     // as last given to the loop
        // Where the namespace side connects, and from where, kept while it
        // may be retried.
        sockaddr_storage to{};
        socklen_t to_len = 0;
        SourceAddress from;
        int64_t give_up_ms = 0;
        EventLoop::TimerId retry_timer = 0;
    };
    struct Listener {
        int type;
        UniqueFd fd;
        sockaddr_storage guest;
        socklen_t guest_len;
    };
    struct Flow {
        UniqueFd
            fd;  // connected to the guest's address, inside the namespace; invalid while opening
        Handle listener;
        sockaddr_storage peer;  // the host-side sender
        socklen_t peer_len;
        int64_t last_active_ms;
        std::vector<std::string> waiting;  // datagrams that came while opening
        bool diverted = false;             // transparent: the helper diverts its replies
        sockaddr_storage local{};          // its address inside the namespace, when diverted
        uint16_t guest_port = 0;
    };
    enum class Pump { Ok, FromFailed, ToFailed };

    void accept_tcp(Handle handle);
    void connect_guest(uint64_t id);
    void guest_opened(uint64_t id, UniqueFd guest, int error_number);
    void conn_event(uint64_t id, bool on_host, short revents);
    void handle_conn_event(uint64_t id, bool on_host, short revents);
    Pump pump(int from, int to, Direction& d, uint64_t& moved);
    void update_watches(uint64_t id, Conn& c);
    void close_conn(uint64_t id, int reset_fd);
    void reset_conn(uint64_t id);
    static bool make_pipe(Pipe* p);
    void keep_spare_pipe();
    bool acquire_pipe(Direction& d);
    void release_pipe(Direction& d);

    void udp_from_host(Handle handle);
    void udp_from_guest(uint64_t flow_id);
    uint64_t find_or_open_flow(Handle handle, const Listener& l, const sockaddr_storage& peer,
                               socklen_t peer_len);
    void flow_opened(uint64_t id, UniqueFd fd, uint16_t diverted_port);
    void close_flow(uint64_t flow_id);
    void arm_idle_timer();
    void expire_idle_flows();
    void ensure_udp_buffers();
    SourceAddress source_for(const sockaddr_storage& client, const Listener& l) const;

    EventLoop& loop_;
    SocketOpener* opener_;
    int64_t udp_idle_ms_;
    int64_t addr_wait_ms_;
    Handle next_handle_ = 1;
    uint64_t next_id_ = 1;
    std::map<Handle, Listener> listeners_;
    std::map<uint64_t, std::unique_ptr<Conn>> conns_;
    std::map<uint64_t, std::unique_ptr<Flow>> flows_;
    std::map<std::pair<Handle, std::string>, uint64_t> flow_by_peer_;
    std::vector<Pipe> spare_pipes_;
    EventLoop::TimerId idle_timer_ = 0;
    uint64_t bytes_to_guest_ = 0, bytes_from_guest_ = 0;
    std::function<void()> small_move_to_guest_;
    std::vector<uint8_t> udp_buffers_;
    bool shows_clients_ = false;
    in_addr gateway_{};
    in6_addr gateway6_{};
};
