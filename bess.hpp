// SPDX-License-Identifier: GPL-2.0-or-later
// bess.hpp owns --target-type=bess: a SOCK_SEQPACKET unix socket where one
// client (User Mode Linux's vector driver) exchanges one Ethernet frame per
// message, instead of a tap device.
#pragma once

#include <memory>
#include <string>

#include "unique_fd.hpp"
#include "unix_socket.hpp"

class BessListener {
   public:
    // Creates the listening socket at path (replacing a stale socket, never
    // any other kind of file).
    static bool listen(const std::string& path, std::unique_ptr<BessListener>* out,
                       std::string* err);

    int fd() const { return listener_.get(); }

    // Accepts the client; an invalid fd when none was waiting. The caller then
    // destroys the listener: one client per instance, and a socket file nobody
    // would read must not stay behind.
    UniqueFd accept_client();

    // For the sandbox to narrow (SocketFile::narrow).
    SocketFile& socket_file() { return file_; }

   private:
    BessListener(UniqueFd listener, SocketFile file)
        : listener_(std::move(listener)), file_(std::move(file)) {}

    UniqueFd listener_;
    SocketFile file_;  // removed when the listener is destroyed, even in the sandbox
};
