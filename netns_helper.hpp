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

#include "child_process.hpp"
#include "options.hpp"
#include "unique_fd.hpp"

// Where forwarded connections get their far-end sockets. The splice
// forwarder only sees this interface, so it can be driven in one namespace.
class SocketOpener {
   public:
    virtual ~SocketOpener() = default;
    // type is SOCK_STREAM (connect() started, maybe still in progress) or
    // SOCK_DGRAM (connected). `to` is an AF_INET or AF_INET6 address. The
    // socket is non-blocking and close-on-exec. On failure *error_number is
    // the errno behind it when a system call failed, else 0: callers tell a
    // passing condition (EADDRNOTAVAIL while an IPv6 address is still
    // tentative) from a final one.
    virtual bool open_socket(int type, const sockaddr_storage& to, socklen_t len, UniqueFd* fd,
                             int* error_number, std::string* err) = 0;
};

// Opens and connects a non-blocking socket in the caller's own namespace:
// what the helper does on each request.
bool open_connected_socket(int type, const sockaddr_storage& to, socklen_t len, UniqueFd* fd,
                           int* error_number, std::string* err);

class NetnsHelper : public SocketOpener {
   public:
    // Forks the helper, which joins the target namespaces and, as the daemon
    // will, applies --enable-sandbox and --enable-seccomp to itself. Must run
    // before the daemon restricts itself (fork and setns are not allowed
    // afterwards).
    static bool start(const Options& options, std::unique_ptr<NetnsHelper>* out, std::string* err);
    ~NetnsHelper() override;

    // A synchronous round trip: the helper answers at once (socket() plus a
    // non-blocking connect()), so this never waits on the network.
    bool open_socket(int type, const sockaddr_storage& to, socklen_t len, UniqueFd* fd,
                     int* error_number, std::string* err) override;

   private:
    NetnsHelper(UniqueFd channel, ChildProcess process)
        : channel_(std::move(channel)), process_(std::move(process)) {}
    UniqueFd channel_;
    ChildProcess process_;
    uint64_t seq_ = 0;
};
