// api.hpp owns the API socket (-a/--api-socket): a non-blocking unix stream
// server multiplexed in the event loop, speaking slirp4netns's JSON protocol
// (add_hostfwd, list_hostfwd, remove_hostfwd) plus get_stats.
#pragma once

#include <memory>
#include <string>

#include "event_loop.hpp"
#include "options.hpp"
#include "stats.hpp"

struct Slirp;

struct ApiContext {
    Slirp* slirp;
    const Options& options;
    Stats& stats;
    EventLoop& loop;
};

class ApiServer {
   public:
    // Binds and listens on options.api_socket; returns nullptr and sets *error
    // on failure. The socket file is removed when the server is destroyed.
    static std::unique_ptr<ApiServer> start(const ApiContext& context, std::string* error);
    virtual ~ApiServer() = default;
};
