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
#include "socket_opener.hpp"
#include "unique_fd.hpp"

// Opens and connects a non-blocking socket in the caller's own namespace,
// transparent when `from` is given (a transparent UDP socket is only bound,
// see SocketOpener): what the helper does on each request.
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
    bool listen(std::string* err);
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
