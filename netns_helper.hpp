// SPDX-License-Identifier: GPL-2.0-or-later
// netns_helper.hpp owns the port-forwarding helper: a child process that
// stays in the target's user and network namespaces (the same ones the tap
// child entered) and opens sockets there on request, handing each back over a
// unix socketpair (SCM_RIGHTS). The daemon never leaves the host namespace.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "child_process.hpp"
#include "error.hpp"
#include "event_loop.hpp"
#include "options.hpp"
#include "unique_fd.hpp"

// Where a transparent socket comes from: the client's address as the guest
// is to see it (see transparent_routing.hpp). len 0: an ordinary socket,
// from whatever address the namespace picks.
struct SourceAddress {
    sockaddr_storage addr{};
    socklen_t len = 0;
};

// Where forwarded connections get their far-end sockets. The splice
// forwarder only sees this interface, so it can be driven in one namespace.
class SocketOpener {
   public:
    // The socket (non-blocking, close-on-exec), or an invalid fd with the
    // errno behind the failure when a system call failed (else 0) and one
    // line naming it: callers tell a passing condition (EADDRNOTAVAIL while
    // an IPv6 address is still tentative) from a final one.
    using Opened = std::function<void(UniqueFd fd, int error_number, const std::string& err)>;

    virtual ~SocketOpener() = default;
    // type is SOCK_STREAM (connect() started, maybe still in progress) or
    // SOCK_DGRAM (connected). `to` is an AF_INET or AF_INET6 address. done
    // is called exactly once: maybe before this returns, maybe later from
    // the event loop; never after the opener is destroyed. A transparent
    // UDP socket's replies are diverted to it until release_udp_flow() names
    // it (by its getsockname() address).
    virtual void open_socket(int type, const sockaddr_storage& to, socklen_t len,
                             const SourceAddress& from, Opened done) = 0;
    virtual void release_udp_flow(const sockaddr_storage& local, uint16_t guest_port) = 0;
};

// Opens and connects a non-blocking socket in the caller's own namespace,
// transparent when `from` is given: what the helper does on each request.
// A failure carries its errno, for Opened.
bool open_connected_socket(int type, const sockaddr_storage& to, socklen_t len,
                           const SourceAddress& from, UniqueFd* fd, Failure* err);

class NetnsHelper : public SocketOpener {
   public:
    // Forks the helper, which joins the target namespaces and, as the daemon
    // will, applies --enable-sandbox and --enable-seccomp to itself. Must run
    // before the daemon restricts itself (fork and setns are not allowed
    // afterwards). Start-up is the one wait on the helper (bounded).
    static bool start(const Options& options, EventLoop& loop, std::unique_ptr<NetnsHelper>* out,
                      std::string* err);
    ~NetnsHelper() override;

    // Sends the request and returns; the reply is taken by the event loop,
    // so a stopped or slow helper delays only the sockets it was asked for.
    void open_socket(int type, const sockaddr_storage& to, socklen_t len, const SourceAddress& from,
                     Opened done) override;
    // Queued like a request, and never answered.
    void release_udp_flow(const sockaddr_storage& local, uint16_t guest_port) override;

    // Whether the helper could set up transparent routing in the namespace
    // (transparent_routing.hpp); if not, why.
    bool transparent() const { return transparent_error_.empty(); }
    const std::string& transparent_error() const { return transparent_error_; }

    enum Kind : int32_t {
        kOpenSocket = 1,      // answered with the socket or an error
        kReleaseUdpFlow = 2,  // not answered
        kShutdown = 3,        // answered once the namespace is tidied up
    };
    // One request on the channel; the helper answers "SEQ ERRNO TEXT" with
    // the socket attached (SCM_RIGHTS).
    struct Request {
        uint64_t seq;  // echoed in the reply, so a late answer is never taken for a newer one
        int32_t kind;
        int32_t type;
        uint32_t len;
        uint32_t from_len;
        sockaddr_storage addr;  // where to connect; for a release, the flow's guest side
        sockaddr_storage from;  // the transparent source; for a release, the flow's local side
    };

   private:
    NetnsHelper(EventLoop& loop, UniqueFd channel, ChildProcess process,
                std::string transparent_error);
    void queue(const Request& request);
    void shut_down_helper();
    void send_requests();
    void channel_ready(short revents);
    void take_replies();
    void gone();

    EventLoop& loop_;
    UniqueFd channel_;
    ChildProcess process_;
    uint64_t seq_ = 0;
    std::deque<Request> unsent_;          // waiting for room in the channel
    std::map<uint64_t, Opened> waiting_;  // sent or unsent, by sequence number
    std::string transparent_error_;
};
