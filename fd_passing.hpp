// fd_passing.hpp owns sending and receiving a file descriptor with a short
// message over a unix socket (SCM_RIGHTS): how children in other namespaces
// hand their descriptors to the daemon.
#pragma once

#include <string>

#include "unique_fd.hpp"

// Sends `message` and, when fd >= 0, the descriptor attached to it.
bool send_fd(int socket, int fd, const std::string& message);

struct ReceivedFd {
    UniqueFd fd;  // invalid when the peer sent none
    std::string message;
    bool ok = false;  // false on I/O error or end of stream
};

ReceivedFd receive_fd(int socket);
