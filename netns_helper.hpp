// netns_helper.hpp owns the port-forwarding helper: a child process that
// stays in the target's user and network namespaces (the same ones the tap
// child entered) and opens sockets there on request, handing each back over a
// unix socketpair (SCM_RIGHTS). The daemon never leaves the host namespace.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "options.hpp"
#include "unique_fd.hpp"

struct OpenedSocket {
    UniqueFd fd;        // non-blocking, close-on-exec; invalid on error
    std::string error;  // one line, set when fd is invalid
    // The errno behind the error when a system call failed, else 0: callers
    // tell a passing condition (EADDRNOTAVAIL while an IPv6 address is still
    // tentative) from a final one.
    int error_number = 0;
};

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
    virtual ~SocketOpener() = default;
    // type is SOCK_STREAM (connect() started, maybe still in progress) or
    // SOCK_DGRAM (connected). `to` is an AF_INET or AF_INET6 address. A
    // transparent UDP socket's replies are diverted to it until
    // release_udp_flow() names it (by its getsockname() address).
    virtual OpenedSocket open_socket(int type, const sockaddr_storage& to, socklen_t len,
                                     const SourceAddress& from) = 0;
    virtual void release_udp_flow(const sockaddr_storage& local, uint16_t guest_port) = 0;
};

// Opens and connects a non-blocking socket in the caller's own namespace,
// transparent when `from` is given: what the helper does on each request.
OpenedSocket open_connected_socket(int type, const sockaddr_storage& to, socklen_t len,
                                   const SourceAddress& from);

class NetnsHelper : public SocketOpener {
   public:
    // Forks the helper, which joins the target namespaces and, as the daemon
    // will, applies --enable-sandbox and --enable-seccomp to itself. Must run
    // before the daemon restricts itself (fork and setns are not allowed
    // afterwards). Returns nullptr and sets *error on failure.
    static std::unique_ptr<NetnsHelper> start(const Options& options, std::string* error);
    ~NetnsHelper() override;

    // A synchronous round trip: the helper answers at once (socket() plus a
    // non-blocking connect()), so this never waits on the network.
    OpenedSocket open_socket(int type, const sockaddr_storage& to, socklen_t len,
                             const SourceAddress& from) override;
    // Sent without waiting: the helper answers nothing.
    void release_udp_flow(const sockaddr_storage& local, uint16_t guest_port) override;

    // Whether the helper could set up transparent routing in the namespace
    // (transparent_routing.hpp); if not, why.
    bool transparent() const { return transparent_error_.empty(); }
    const std::string& transparent_error() const { return transparent_error_; }

   private:
    NetnsHelper(UniqueFd channel, std::string transparent_error)
        : channel_(std::move(channel)), transparent_error_(std::move(transparent_error)) {}
    UniqueFd channel_;
    std::string transparent_error_;
    uint64_t seq_ = 0;
};
