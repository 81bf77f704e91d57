// child_process.cpp: ending and reaping a child (see child_process.hpp).
#include "child_process.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>

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
