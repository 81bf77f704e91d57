// SPDX-License-Identifier: GPL-2.0-or-later
// redirect_keeper.cpp: the keeper child and the daemon's side of it (see
// redirect_keeper.hpp).
#include "redirect_keeper.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "error.hpp"
#include "fd_passing.hpp"
#include "memory_return.hpp"
#include "private_netns.hpp"
#include "rtnetlink.hpp"
#include "sandbox.hpp"
#include "seccomp.hpp"
#include "tc_redirect.hpp"

namespace {

// How long a daemon going away waits for the keeper to tidy up: removing
// the filters is a few dozen rtnetlink requests.
constexpr int kTidyWaitMs = 1000;
// How long the keeper waits, after serving requests, before it gives back
// the code pages they faulted in: the daemon's own quiet interval.
constexpr int kQuietMs = 5000;

// Everything the daemon had open when it forked the child (ready-fd
// among them, which a client may read until it closes) but these two.
void close_all_but(int a, int b) {
    if (a > b) std::swap(a, b);
    if (a > 3) close_range(3, static_cast<unsigned>(a - 1), 0);
    if (b > a + 1) close_range(static_cast<unsigned>(a + 1), static_cast<unsigned>(b - 1), 0);
    close_range(static_cast<unsigned>(b + 1), ~0U, 0);
}

std::string answer(int e, const char* what) {
    return e == 0 ? std::string() : errno_text(what, e);
}

}  // namespace

void run_redirect_keeper(int channel, Rtnetlink& guest_ns, TcRedirect& redirect,
                         const RedirectScope& scope, bool seccomp) {
    // A terminal's Ctrl-C or a group-wide SIGTERM reaches the daemon too:
    // the keeper leaves when the daemon has, so that it tidies up after it.
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    prctl(PR_SET_NAME, "slirp4netns-tcp", 0, 0, 0);
    close_all_but(channel, guest_ns.fd());
    // It needs only to change the guest's namespace's tc state and to bind
    // listeners (ports below 1024 too); sockets, rtnetlink and descriptor
    // passing are all on the daemon's system call list. A keeper that cannot
    // be confined says so and goes on: the daemon is confined either way.
    std::string why;
    if (!drop_capabilities({CAP_NET_ADMIN, CAP_NET_BIND_SERVICE}, &why) ||
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || (seccomp && !install_seccomp_filter(&why)))
        log_error("the TCP namespace's keeper is not confined: " +
                  (why.empty() ? errno_text("no_new_privs") : why));
    // The keeper idles for as long as its container runs: like the daemon
    // (memory_return.hpp), it gives back the code pages that start-up faulted
    // in, and again those of each spell of requests once it has gone quiet.
    release_read_only_pages();
    bool released = true;
    for (;;) {
        pollfd p{channel, POLLIN, 0};
        int ready = poll(&p, 1, released ? -1 : kQuietMs);
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) {
            release_read_only_pages();
            released = true;
            continue;
        }
        released = false;
        KeeperRequest request;
        ssize_t n = recv(channel, &request, sizeof request, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n != static_cast<ssize_t>(sizeof request)) break;  // the daemon is gone
        if (request.op == KeeperRequest::Listen) {
            UniqueFd listener;
            std::string why;
            listen_in_private_netns(request.family, request.port, &listener, &why);
            send_fd(channel, listener, why);
        } else if (request.op == KeeperRequest::DeliverUdp) {
            send_message(channel, answer(redirect.install_udp(guest_ns, scope),
                                         "cannot add the UDP filters"));
        } else if (request.op == KeeperRequest::StopUdp) {
            redirect.uninstall_udp(guest_ns);
            send_message(channel, "");
        } else if (request.op == KeeperRequest::Exclude) {
            send_message(channel, answer(redirect.exclude(guest_ns, scope, request.port),
                                         "cannot leave a forwarded port to libslirp"));
        } else {
            send_message(channel, answer(redirect.include(guest_ns, request.port),
                                         "cannot remove a forwarded port's filter"));
        }
    }
    redirect.remove(guest_ns);
    _exit(0);
}

RedirectKeeper::RedirectKeeper(EventLoop& loop, UniqueFd channel, ChildProcess child)
    : loop_(loop), channel_(std::move(channel)), child_(std::move(child)) {}

RedirectKeeper::~RedirectKeeper() {
    if (!channel_) return;
    loop_.unwatch(channel_.get());
    // Our end closing is the keeper's word to tidy up; its own end closing
    // (it exits) says it is done.
    shutdown(channel_.get(), SHUT_WR);
    pollfd p{channel_.get(), POLLIN, 0};
    char drain[256];
    ssize_t n = 1;
    while (n != 0 && poll(&p, 1, kTidyWaitMs) > 0)
        if ((n = recv(channel_.get(), drain, sizeof drain, MSG_DONTWAIT)) < 0 && errno != EAGAIN)
            break;
    channel_.reset();
    if (n == 0)
        child_.wait();
    else
        child_.end();  // it did not finish in time
}

bool RedirectKeeper::start(std::string* err) {
    fcntl(channel_.get(), F_SETFL, fcntl(channel_.get(), F_GETFL) | O_NONBLOCK);
    return loop_.watch(
        channel_.get(), POLLIN, [this](short) { on_reply(); }, err);
}

bool RedirectKeeper::send(const KeeperRequest& request) {
    if (!channel_) return false;
    ssize_t n;
    do {
        n = ::send(channel_.get(), &request, sizeof request, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(sizeof request);
}

void RedirectKeeper::listen(int family, uint16_t port, ListenerDone done) {
    KeeperRequest request;
    request.op = KeeperRequest::Listen;
    request.family = static_cast<uint8_t>(family);
    request.port = port;
    UniqueFd slot(fcntl(channel_.get(), F_DUPFD_CLOEXEC, 0));
    if (!slot) {
        done(UniqueFd(), errno_text("no descriptor for a listener"));
        return;
    }
    if (!send(request)) {
        done(UniqueFd(), "the TCP namespace's keeper does not answer");
        return;
    }
    waiting_.push_back({std::move(done), std::move(slot), {}});
}

bool RedirectKeeper::when_answered(std::function<void()> done) {
    if (waiting_.empty()) return false;
    waiting_.back().after.push_back(std::move(done));
    return true;
}

void RedirectKeeper::exclude(uint16_t guest_port) {
    ask(KeeperRequest::Exclude, guest_port);
}

void RedirectKeeper::include(uint16_t guest_port) {
    ask(KeeperRequest::Include, guest_port);
}

void RedirectKeeper::deliver_udp(bool deliver, UdpDone done) {
    KeeperRequest request;
    request.op = deliver ? KeeperRequest::DeliverUdp : KeeperRequest::StopUdp;
    if (!send(request)) {
        done("the TCP namespace's keeper does not answer");
        return;
    }
    waiting_.push_back({[done](UniqueFd, const std::string& why) { done(why); }, {}, {}});
}

void RedirectKeeper::ask(KeeperRequest::Op op, uint16_t guest_port) {
    KeeperRequest request;
    request.op = op;
    request.port = guest_port;
    if (send(request)) waiting_.push_back({});
}

void RedirectKeeper::on_reply() {
    // One reply per wakeup at most per request waiting; each is one message.
    while (!waiting_.empty()) {
        waiting_.front().slot.reset();
        UniqueFd fd;
        std::string message;
        Failure why;
        if (!receive_fd(channel_.get(), &fd, &message, &why)) {
            if (why.error_number == EAGAIN) return;
            lost();
            return;
        }
        ListenerDone done = std::move(waiting_.front().done);
        std::vector<std::function<void()>> after = std::move(waiting_.front().after);
        waiting_.pop_front();
        if (done)
            done(std::move(fd), message);
        else if (!message.empty())
            log_error(message);
        for (auto& f : after) f();
    }
    // Nothing asked, yet readable: the keeper has gone.
    char byte;
    if (recv(channel_.get(), &byte, 1, MSG_DONTWAIT | MSG_PEEK) == 0) lost();
}

void RedirectKeeper::lost() {
    loop_.unwatch(channel_.get());
    channel_.reset();
    log_error("the TCP namespace's keeper exited");
    for (Waiting& w : std::exchange(waiting_, {})) {
        if (w.done) w.done(UniqueFd(), "the TCP namespace's keeper exited");
        for (auto& f : w.after) f();
    }
}
