// fd_passing.hpp owns sending and receiving a file descriptor with a short
// message over a unix socket (SCM_RIGHTS): how children in other namespaces
// hand their descriptors to the daemon.
#pragma once

#include <string>

#include "unique_fd.hpp"

// Sends `message` and, when fd >= 0, the descriptor attached to it.
bool send_fd(int socket, int fd, const std::string& message);

// Receives one message, and into *fd the descriptor attached to it (left
// invalid when the peer sent none). False on I/O error or end of stream.
bool receive_fd(int socket, UniqueFd* fd, std::string* message);
