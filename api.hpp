// SPDX-License-Identifier: GPL-2.0-or-later
// api.hpp owns the API socket (-a/--api-socket): a non-blocking unix stream
// server multiplexed in the event loop, speaking slirp4netns's JSON protocol
// (add_hostfwd, list_hostfwd, remove_hostfwd) plus get_stats. The protocol
// itself (framing, parsing, replies) lives in api_request.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "event_loop.hpp"
#include "options.hpp"
#include "stats.hpp"
#include "unix_socket.hpp"

struct Slirp;
class SpliceForwarder;

struct ApiContext {
    Slirp* slirp;
    const Options& options;
    Stats& stats;
    EventLoop& loop;
    SpliceForwarder* splice = nullptr;  // null when splice mode is unavailable
    // A slirp-mode TCP forward to a guest port is added (false: it cannot
    // be, the kernel TCP path can leave no more ports to libslirp) or was
    // removed.
    std::function<bool(uint16_t guest_port, bool added)> slirp_tcp_forward;
    // Whether what slirp_tcp_forward asked for is still being put in place;
    // if so, ready runs once it is (the reply to add_hostfwd waits for it:
    // a client connecting at once must find its forward's flows libslirp's).
    std::function<bool(std::function<void()> ready)> slirp_tcp_forward_pending;
    // The same for a slirp-mode UDP forward (the kernel UDP path leaves
    // that guest port's datagrams to libslirp).
    std::function<void(uint16_t guest_port, bool added)> slirp_udp_forward;
};

// A client that has not been answered this long after connecting is dropped,
// so that silent clients cannot pile up.
constexpr int64_t kApiClientTimeoutMs = 5000;
// Connections held at once; the oldest is dropped to make room for a new one.
constexpr size_t kApiMaxClients = 256;

class ApiServer {
   public:
    // Binds and listens on options.api_socket. The socket file is removed when the server is
    // destroyed (the daemon destroys it on every clean exit), even from inside the sandbox, since
    // the removal goes through a descriptor of its directory.
    static bool start(const ApiContext& context, std::unique_ptr<ApiServer>* out, std::string* err);
    virtual ~ApiServer() = default;
    // For the sandbox to narrow (SocketFile::narrow).
    virtual SocketFile& socket_file() = 0;
};
