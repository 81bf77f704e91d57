// SPDX-License-Identifier: GPL-2.0-or-later
// child_process.hpp owns a forked child's pid: the tap child, the
// port-forwarding helper and the TCP namespace child are each held by one of
// these, so that a child is always reaped, and a helper ends with its owner
// instead of outliving it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "unique_fd.hpp"

class ChildProcess {
   public:
    ChildProcess() = default;
    explicit ChildProcess(pid_t pid) : pid_(pid) {}
    ChildProcess(ChildProcess&& other) noexcept : pid_(other.release()) {}
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess() { end(); }

    pid_t pid() const { return pid_; }

    // Waits until the child exits by itself and reaps it; returns its wait
    // status (-1 when there is no child).
    int wait();
    // Kills the child (SIGKILL: a stopped child too) and reaps it.
    void end();

   private:
    pid_t release() {
        pid_t pid = pid_;
        pid_ = -1;
        return pid;
    }
    pid_t pid_ = -1;
};

// Forks a child joined to the caller by a SOCK_SEQPACKET socketpair: the
// child runs body with its end (and exits when body returns); the caller
// gets the other end and the child. How the tap child, the port-forwarding
// helper and the TCP namespace child start.
bool fork_with_channel(const std::function<void(UniqueFd)>& body, UniqueFd* channel,
                       ChildProcess* child, std::string* err);
