// child_process.hpp owns a forked child's pid: the tap child and the
// port-forwarding helper are each held by one of these, so that a child is
// always reaped, and a helper ends with its owner instead of outliving it.
#pragma once

#include <sys/types.h>

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
