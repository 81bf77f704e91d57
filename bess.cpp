// SPDX-License-Identifier: GPL-2.0-or-later
// bess.cpp: the BESS listening socket (see bess.hpp).
#include "bess.hpp"

#include <sys/socket.h>
#include <unistd.h>

UniqueFd BessListener::accept_client() {
    return UniqueFd(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
}

bool BessListener::listen(const std::string& path, std::unique_ptr<BessListener>* out,
                          std::string* err) {
    // A backlog of 1: the protocol has exactly one client.
    UniqueFd listener;
    if (!listen_unix_socket(path, SOCK_SEQPACKET, 1, &listener, err)) return false;
    SocketFile file;
    if (!file.remember(path, err)) {
        unlink(path.c_str());
        return false;
    }
    out->reset(new BessListener(std::move(listener), std::move(file)));
    return true;
}
