// bess.cpp: the BESS listening socket (see bess.hpp).
#include "bess.hpp"

#include <sys/socket.h>
#include <unistd.h>

UniqueFd BessListener::accept_client() {
    return UniqueFd(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
}

std::unique_ptr<BessListener> BessListener::listen(const std::string& path, std::string* error) {
    // A backlog of 1: the protocol has exactly one client.
    UniqueFd listener = listen_unix_socket(path, SOCK_SEQPACKET, 1, error);
    if (!listener) return nullptr;
    SocketFile file;
    if (!file.remember(path, error)) {
        unlink(path.c_str());
        return nullptr;
    }
    return std::unique_ptr<BessListener>(new BessListener(std::move(listener), std::move(file)));
}
