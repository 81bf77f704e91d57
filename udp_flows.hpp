// SPDX-License-Identifier: GPL-2.0-or-later
// udp_flows.hpp owns the UDP side of splice port forwarding: the datagrams
// of a bound host port go, per host peer, over one connected socket inside
// the target namespace (from the SocketOpener: transparent, from the
// client's address as the guest is to see it, when the forwarder shows
// clients), in batches (recvmmsg/sendmmsg); the guest's answers go back to
// that peer from the host port. A flow idle for the idle timeout is dropped
// and its reply rule handed back. The host ports themselves are bound by
// the forwarder (splice_forward.hpp), which hands them over.
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

class UdpFlows {
   public:
    using Handle = uint64_t;
    // Where a new flow's namespace socket comes from (see SocketOpener).
    using SourceFor = std::function<SourceAddress(const sockaddr_storage& client, int family)>;

    UdpFlows(EventLoop& loop, SocketOpener& opener, int64_t idle_ms, SourceFor source_for);
    ~UdpFlows();
    UdpFlows(const UdpFlows&) = delete;
    UdpFlows& operator=(const UdpFlows&) = delete;

    // A bound host socket whose datagrams go to `guest` inside the namespace.
    bool add_port(Handle handle, UniqueFd socket, const sockaddr_storage& guest,
                  socklen_t guest_len, std::string* err);
    // Closes the port and drops its flows; false for an unknown handle.
    bool remove_port(Handle handle);
    // The host port a handle's socket is bound to; 0 for an unknown handle.
    uint16_t bound_port(Handle handle) const;

    size_t flows() const { return flows_.size(); }

   private:
    struct Port {
        UniqueFd fd;
        sockaddr_storage guest;
        socklen_t guest_len;
    };
    struct Flow {
        // Connected to the guest's address, inside the namespace; invalid
        // while it is being opened.
        UniqueFd fd;
        Handle port;
        sockaddr_storage peer;  // the host-side sender
        socklen_t peer_len;
        int64_t last_active_ms;
        std::vector<std::string> waiting;  // datagrams that came while opening
        bool diverted = false;             // transparent: the helper diverts its replies
        sockaddr_storage local{};          // its address inside the namespace, when diverted
        uint16_t guest_port = 0;
    };

    void from_host(Handle handle);
    void from_guest(uint64_t flow_id);
    uint64_t find_or_open_flow(Handle handle, const Port& p, const sockaddr_storage& peer,
                               socklen_t peer_len);
    void flow_opened(uint64_t id, UniqueFd fd, uint16_t diverted_port);
    void close_flow(uint64_t flow_id);
    void arm_idle_timer();
    void expire_idle_flows();

    EventLoop& loop_;
    SocketOpener& opener_;
    int64_t idle_ms_;
    SourceFor source_for_;
    uint64_t next_id_ = 1;
    std::map<Handle, Port> ports_;
    std::map<uint64_t, std::unique_ptr<Flow>> flows_;
    std::map<std::pair<Handle, std::string>, uint64_t> flow_by_peer_;
    EventLoop::TimerId idle_timer_ = 0;
    std::vector<uint8_t> buffers_;  // one batch of datagrams, made with the first port
};
