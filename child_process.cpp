// SPDX-License-Identifier: GPL-2.0-or-later
// child_process.cpp: ending and reaping a child (see child_process.hpp).
#include "child_process.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "error.hpp"

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        end();
        pid_ = other.release();
    }
    return *this;
}

int ChildProcess::wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
}

void ChildProcess::end() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    wait();
}

bool fork_with_channel(const std::function<void(UniqueFd)>& body, UniqueFd* channel,
                       ChildProcess* child, std::string* err) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
        return fail(err, errno_text("socketpair"));
    UniqueFd ours(pair[0]);
    UniqueFd theirs(pair[1]);
    pid_t pid = fork();
    if (pid < 0) return fail(err, errno_text("fork"));
    if (pid == 0) {
        ours.reset();
        body(std::move(theirs));
        _exit(0);
    }
    *child = ChildProcess(pid);
    *channel = std::move(ours);
    return true;
}
