// SPDX-License-Identifier: GPL-2.0-or-later
// error.cpp: the shared errno wording and error log line (see error.hpp).
#include "error.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

std::string errno_text(const std::string& what, int error) {
    return what + ": " + std::strerror(error);
}

void log_error(const std::string& line) {
    std::string shown;
    for (unsigned char c : line) {
        if (c >= 0x20 && c != 0x7f) {
            shown.push_back(static_cast<char>(c));
            continue;
        }
        char escaped[5];
        std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
        shown += escaped;
    }
    std::fprintf(stderr, "slirp4netns: %s\n", shown.c_str());
}

int socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}
