// SPDX-License-Identifier: GPL-2.0-or-later
// splice_forward.hpp owns the "splice" port-forwarding mode's rules: the
// host ports it binds, and the set-up of each TCP connection accepted
// there: a socket connected to the guest's address is asked for inside the
// target namespace (by the NetnsHelper, through SocketOpener), retried a
// bounded time while the namespace has no usable source address, and once
// it connects the pair goes to the relay (splice_relay.hpp), so bytes move
// kernel to kernel. UDP ports go to their flows (udp_flows.hpp).
// Everything runs in the daemon's single EventLoop; there is no thread per
// connection.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "event_loop.hpp"
#include "socket_opener.hpp"
#include "splice_relay.hpp"
#include "udp_flows.hpp"
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

    // Connections being set up and relayed.
    size_t tcp_connections() const { return connecting_.size() + relay_.connections(); }
    // Bytes moved by TCP connections, host -> guest and guest -> host.
    uint64_t tcp_bytes_to_guest() const { return relay_.bytes_to_guest(); }
    uint64_t tcp_bytes_from_guest() const { return relay_.bytes_from_guest(); }
    size_t udp_flows() const { return udp_.flows(); }

   private:
    // An accepted connection until its namespace side has connected.
    struct Connecting {
        UniqueFd host, guest;
        // Where the namespace side connects, and from where, kept while it
        // may be retried.
        sockaddr_storage to{};
        socklen_t to_len = 0;
        SourceAddress from;
        int64_t give_up_ms = 0;
        EventLoop::TimerId retry_timer = 0;
    };
    struct Listener {
        UniqueFd fd;
        sockaddr_storage guest;
        socklen_t guest_len;
    };

    void accept_tcp(Handle handle);
    void connect_guest(uint64_t id);
    void guest_opened(uint64_t id, UniqueFd guest, int error_number);
    void connecting_event(uint64_t id, bool on_host, short revents);
    void give_up(uint64_t id, int reset_fd);
    SourceAddress source_for(const sockaddr_storage& client, int guest_family) const;

    EventLoop& loop_;
    SocketOpener& opener_;
    int64_t addr_wait_ms_;
    SpliceRelay relay_;
    UdpFlows udp_;
    Handle next_handle_ = 1;
    uint64_t next_id_ = 1;
    std::map<Handle, Listener> listeners_;  // TCP; UDP ports are udp_'s
    std::map<uint64_t, std::unique_ptr<Connecting>> connecting_;
    bool shows_clients_ = false;
    in_addr gateway_{};
    in6_addr gateway6_{};
};
