// SPDX-License-Identifier: GPL-2.0-or-later
// unix_socket.hpp owns creating listening unix sockets safely: owner-only
// permissions, a stale socket left by a dead instance is replaced, and a path
// holding anything other than a socket is never clobbered.
#pragma once

#include <sys/types.h>

#include <string>

#include "unique_fd.hpp"

// type is SOCK_STREAM or SOCK_SEQPACKET. The fd is non-blocking, close-on-exec.
bool listen_unix_socket(const std::string& path, int type, int backlog, UniqueFd* listener,
                        std::string* err);

// The socket file a listener created, remembered so that it can be removed
// later even from inside the sandbox, where the path no longer resolves: by
// a directory fd opened beforehand, and only while the name still refers to
// the very file created (never a successor's socket or anything else).
class SocketFile {
   public:
    SocketFile() = default;
    SocketFile(SocketFile&&) noexcept = default;
    SocketFile& operator=(SocketFile&& other) noexcept {
        if (this != &other) {
            remove();
            directory_ = std::move(other.directory_);
            directory_path_ = std::move(other.directory_path_);
            name_ = std::move(other.name_);
            dev_ = other.dev_;
            ino_ = other.ino_;
        }
        return *this;
    }
    ~SocketFile() { remove(); }

    // Call right after binding path. Returns false and sets *error on failure.
    bool remember(const std::string& path, std::string* err);
    // Removes the file if it is still the one remembered; then forgets it.
    void remove();
    // The directory fd names the host's whole tree (".." climbs out of it).
    // This replaces it with a detached copy of the directory's mount tree,
    // rooted at the directory: the file can still be removed through it, but
    // nothing above the directory can be named. The copy is made from the
    // calling process's mount namespace, where it needs CAP_SYS_ADMIN (the
    // sandbox's new one): the directory is reopened there by its path and
    // must still be the one remembered. A no-op when nothing is remembered.
    bool narrow(std::string* err);

   private:
    UniqueFd directory_;
    std::string directory_path_;
    std::string name_;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
};
