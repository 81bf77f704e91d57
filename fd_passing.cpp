// SPDX-License-Identifier: GPL-2.0-or-later
// fd_passing.cpp: SCM_RIGHTS send/receive (see fd_passing.hpp).
#include "fd_passing.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

bool send_fds(int socket, std::span<const int> fds, const std::string& message) {
    if (fds.size() > kMaxPassedFds) return false;
    std::string payload = message.empty() ? std::string(1, '\0') : message;
    iovec iov{payload.data(), payload.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds.empty()) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n;
    do {
        n = sendmsg(socket, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(payload.size());
}

bool send_fd(int socket, const UniqueFd& fd, const std::string& message) {
    if (!fd) return send_message(socket, message);
    int raw = fd.get();
    return send_fds(socket, std::span<const int>(&raw, 1), message);
}

bool send_message(int socket, const std::string& message) {
    return send_fds(socket, {}, message);
}

bool receive_fds(int socket, std::vector<UniqueFd>* fds, std::string* message, Failure* err) {
    fds->clear();
    message->clear();
    char buffer[1024];
    iovec iov{buffer, sizeof buffer};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
        n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail_errno(err, "recvmsg");
    if (n == 0) return fail(err, "the channel's other end closed it");
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int received;
            std::memcpy(&received, CMSG_DATA(cmsg) + i * sizeof(int), sizeof received);
            fds->emplace_back(received);
        }
    }
    message->assign(buffer, static_cast<size_t>(n));
    if (!message->empty() && message->back() == '\0') message->pop_back();
    return true;
}

bool receive_fd(int socket, UniqueFd* fd, std::string* message, Failure* err) {
    std::vector<UniqueFd> fds;
    fd->reset();
    if (!receive_fds(socket, &fds, message, err)) return false;
    if (!fds.empty()) *fd = std::move(fds.front());  // any others close here
    return true;
}
