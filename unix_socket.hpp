// unix_socket.hpp owns creating listening unix sockets safely: owner-only
// permissions, a stale socket left by a dead instance is replaced, and a path
// holding anything other than a socket is never clobbered.
#pragma once

#include <string>

#include "unique_fd.hpp"

// type is SOCK_STREAM or SOCK_SEQPACKET. The fd is non-blocking, close-on-exec.
UniqueFd listen_unix_socket(const std::string& path, int type, int backlog, std::string* error);
