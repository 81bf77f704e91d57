// SPDX-License-Identifier: GPL-2.0-or-later
// fd_passing.hpp owns sending and receiving file descriptors with a short
// message over a unix socket (SCM_RIGHTS): how children in other namespaces
// hand their descriptors to the daemon.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "error.hpp"
#include "unique_fd.hpp"

// The most descriptors one message carries.
constexpr size_t kMaxPassedFds = 4;

// Sends `message` with the descriptors attached to it (at most kMaxPassedFds).
bool send_fds(int socket, std::span<const int> fds, const std::string& message);
// Sends `message` and, when fd holds one, the descriptor attached to it.
bool send_fd(int socket, const UniqueFd& fd, const std::string& message);
// Sends `message` alone.
bool send_message(int socket, const std::string& message);

// Receives one message, and into *fds the descriptors attached to it, in
// the order they were sent. On failure *err tells why: the errno (EAGAIN on
// a non-blocking socket with nothing yet, which callers wait out), or 0 at
// the end of the stream.
bool receive_fds(int socket, std::vector<UniqueFd>* fds, std::string* message, Failure* err);
// Receives one message, and into *fd the descriptor attached to it (left
// invalid when the peer sent none).
bool receive_fd(int socket, UniqueFd* fd, std::string* message, Failure* err);
