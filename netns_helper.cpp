// SPDX-License-Identifier: GPL-2.0-or-later
// netns_helper.cpp: the namespace-side socket opener (see netns_helper.hpp).
#include "netns_helper.hpp"

#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "confine.hpp"
#include "error.hpp"
#include "fd_passing.hpp"
#include "namespaces.hpp"
#include "transparent_routing.hpp"
#include "transparent_socket.hpp"

namespace {

// Requests held while the channel is full (the helper answers each in
// microseconds: this many means it has stopped).
constexpr size_t kMaxUnsent = 4096;
// Start-up includes joining namespaces and building the sandbox.
constexpr int kStartTimeoutSeconds = 10;
// At exit, how long the helper may take to remove its rules and routes
// (a few netlink round trips).
constexpr int64_t kShutdownWaitMs = 2000;

// A reply's message is "SEQ ERRNO TEXT": the sequence number of the request
// it answers, the errno behind a failure (0 otherwise), and the error text.
std::string reply_message(uint64_t seq, int error_number, const std::string& error) {
    return std::to_string(seq) + " " + std::to_string(error_number) + " " + error;
}

using Request = NetnsHelper::Request;

socklen_t address_length(int family) {
    if (family == AF_INET) return sizeof(sockaddr_in);
    if (family == AF_INET6) return sizeof(sockaddr_in6);
    return 0;
}

bool valid_request(const Request& r) {
    if (r.kind == NetnsHelper::kShutdown) return true;
    if (r.kind != NetnsHelper::kOpenSocket && r.kind != NetnsHelper::kReleaseUdpFlow) return false;
    if (r.type != SOCK_STREAM && r.type != SOCK_DGRAM) return false;
    if (r.len == 0 || r.len != address_length(r.addr.ss_family)) return false;
    if (r.from_len == 0) return r.kind == NetnsHelper::kOpenSocket;
    return r.from.ss_family == r.addr.ss_family && r.from_len == r.len;
}

void set_timeout(int fd, int seconds) {
    timeval tv{seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Everything except the channel and stdio was the daemon's: the tap, the API
// socket, the ready and exit fds. Holding them would keep them alive.
void close_inherited_fds(int keep) {
    if (keep > 3) close_range(3, static_cast<unsigned>(keep - 1), 0);
    close_range(static_cast<unsigned>(keep + 1), ~0U, 0);
}

// False with the fatal error; *routing_error says why transparent forwards
// are unavailable, if they are.
bool enter_namespaces(const Options& options, int channel, TransparentRouting* routing,
                      std::string* routing_error, std::string* err) {
    {
        TargetNamespaces ns;
        if (!open_target_namespaces(options, &ns, err) || !join_target_namespaces(ns, err))
            return false;
    }
    close_inherited_fds(channel);
    // Before the sandbox: it needs /proc/sys, which the sandbox's root lacks.
    routing->set_up(options.network.guest, options.enable_ipv6, routing_error);
    // Transparent sockets (IP_TRANSPARENT, SO_MARK) and the UDP reply rules
    // need CAP_NET_ADMIN in the namespace; nothing else does.
    std::string why;
    SandboxRoot root = SandboxRoot::None;
    std::vector<std::string> notes;
    // It keeps no socket file: close_inherited_fds closed the daemon's.
    if (!confine(options, routing->ready(), {}, &root, &notes, &why))
        return fail(err, "port-forwarding helper: " + why);
    for (const std::string& note : notes) log_error("port-forwarding helper: " + note);
    return true;
}

// Opens what `r` asks for; a transparent UDP socket gets its reply rule.
bool open_requested_socket(const Request& r, TransparentRouting& routing, UniqueFd* out,
                           Failure* err) {
    SourceAddress from;
    from.addr = r.from;
    from.len = r.from_len;
    if (from.len > 0 && !routing.ready())
        return fail(err, "transparent forwarding is not set up in the namespace");
    std::string why;
    if (from.len > 0 && r.type == SOCK_DGRAM && r.addr.ss_family == AF_INET &&
        !routing.ensure_reply_source(reinterpret_cast<const sockaddr_in&>(r.addr).sin_addr, &why))
        return fail(err, why);
    UniqueFd fd;
    if (!open_connected_socket(r.type, r.addr, r.len, from, &fd, err)) return false;
    if (from.len > 0 && r.type == SOCK_DGRAM) {
        sockaddr_storage local{};
        socklen_t local_len = sizeof local;
        if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &local_len) < 0)
            return fail(err, errno_text("getsockname"));
        if (!routing.divert_udp_replies(local, port_host_order(r.addr), &why))
            return fail(err, why);
    }
    *out = std::move(fd);
    return true;
}

[[noreturn]] void helper_main(const Options& options, UniqueFd channel) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "slirp4netns-fwd");
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    TransparentRouting routing;
    std::string error, routing_error;
    bool entered = enter_namespaces(options, channel.get(), &routing, &routing_error, &error);
    send_message(channel.get(), error);
    if (!entered) {
        routing.tear_down();
        _exit(1);
    }
    send_message(channel.get(), routing_error);
    for (;;) {
        Request request{};
        ssize_t n = recv(channel.get(), &request, sizeof request, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || request.kind == NetnsHelper::kShutdown) {  // the daemon is gone, or going
            routing.tear_down();
            if (n > 0) send_message(channel.get(), reply_message(request.seq, 0, ""));
            _exit(0);
        }
        if (n != static_cast<ssize_t>(sizeof request) || !valid_request(request)) {
            send_message(
                channel.get(),
                reply_message(request.seq, 0, "malformed request to the port-forwarding helper"));
            continue;
        }
        if (request.kind == NetnsHelper::kReleaseUdpFlow) {
            routing.stop_diverting(request.from, port_host_order(request.addr));
            continue;
        }
        UniqueFd opened;
        Failure failure;
        open_requested_socket(request, routing, &opened, &failure);
        send_fd(channel.get(), opened,
                reply_message(request.seq, failure.error_number, failure.text));
    }
}

// True when `to` is one of this namespace's own IPv6 addresses that is still
// tentative (duplicate address detection runs for 1-2 s after SLAAC or
// `ip addr add`). A connect() to it does not fail: with no local route yet,
// the SYN leaves through the tap, neighbour discovery for our own address
// goes unanswered, and the connection dies with EHOSTUNREACH 3 s later. A
// bind() to the address tells a usable local address (it succeeds) from the
// rest; the address list then tells a tentative one from a remote one.
bool tentative_own_address(const sockaddr_in6& to) {
    UniqueFd probe(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!probe) return false;
    sockaddr_in6 local = to;
    local.sin6_port = 0;
    if (bind(probe.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) == 0 ||
        errno != EADDRNOTAVAIL)
        return false;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) < 0) return false;
    bool own = false;
    for (ifaddrs* a = list; a != nullptr && !own; a = a->ifa_next) {
        if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET6) continue;
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
        own = std::memcmp(&in6->sin6_addr, &to.sin6_addr, sizeof to.sin6_addr) == 0;
    }
    freeifaddrs(list);
    return own;
}

}  // namespace

bool open_connected_socket(int type, const sockaddr_storage& to, socklen_t len,
                           const SourceAddress& from, UniqueFd* out, Failure* err) {
    if (to.ss_family == AF_INET6 &&
        tentative_own_address(reinterpret_cast<const sockaddr_in6&>(to)))
        return fail(err, "connect: the namespace's IPv6 address is still tentative", EADDRNOTAVAIL);
    UniqueFd fd(socket(to.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fail_errno(err, "socket");
    if (from.len > 0 && !bind_transparent(fd.get(), from, err)) return false;
    // A transparent UDP socket stays unconnected: a connected one takes only
    // datagrams from `to` itself, yet a guest server bound to the wildcard
    // answers from the source the kernel picks for the client's address
    // (for a client shown as fd00::2 that is the tap's global address once
    // SLAAC gave it one, not ::1), and the answer would be dropped. The
    // reply rule already lets in only what the guest's port sends here.
    if (from.len > 0 && type == SOCK_DGRAM) {
        *out = std::move(fd);
        return true;
    }
    int rc;
    do {
        rc = connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), len);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno != EINPROGRESS) return fail_errno(err, "connect");
    *out = std::move(fd);
    return true;
}

bool NetnsHelper::start(const Options& options, EventLoop& loop, std::unique_ptr<NetnsHelper>* out,
                        std::string* err) {
    if (options.netns_type == NetnsType::TapFd)
        return fail(err, "the port-forwarding helper needs a namespace target, not a tap FD");
    UniqueFd ours;
    ChildProcess process;  // ended and reaped on every way out
    auto body = [&](UniqueFd theirs) { helper_main(options, std::move(theirs)); };
    if (!fork_with_channel(body, &ours, &process, err)) return false;
    set_timeout(ours.get(), kStartTimeoutSeconds);
    UniqueFd none;
    std::string hello;
    bool answered = receive_fd(ours.get(), &none, &hello, nullptr);
    if (!answered || !hello.empty())
        return fail(err, answered ? hello : "the port-forwarding helper exited during start-up");
    std::string routing_error;
    if (!receive_fd(ours.get(), &none, &routing_error, nullptr))
        return fail(err, "the port-forwarding helper exited during start-up");
    // From here on nothing waits on the helper: requests and replies go
    // through the loop.
    fcntl(ours.get(), F_SETFL, O_NONBLOCK | O_RDWR);
    std::unique_ptr<NetnsHelper> helper(
        new NetnsHelper(loop, std::move(ours), std::move(process), routing_error));
    if (!helper->listen(err)) return false;
    *out = std::move(helper);
    return true;
}

NetnsHelper::NetnsHelper(EventLoop& loop, UniqueFd channel, ChildProcess process,
                         std::string transparent_error)
    : loop_(loop),
      channel_(std::move(channel)),
      process_(std::move(process)),
      transparent_error_(std::move(transparent_error)) {}

bool NetnsHelper::listen(std::string* err) {
    return loop_.watch(
        channel_.get(), POLLIN, [this](short revents) { channel_ready(revents); }, err);
}

NetnsHelper::~NetnsHelper() {
    // Requests still waiting are dropped unanswered: their owners are gone
    // (the splice forwarder goes first). Closing the channel is the helper's
    // cue to exit; the kill that follows ends one that cannot notice
    // (stopped, or wedged), then it is reaped. First the helper removes
    // what it added to the namespace: the kill must not catch it half way.
    if (channel_) loop_.unwatch(channel_.get());
    shut_down_helper();
    channel_.reset();
    process_.end();
}

// The one wait on the helper after start-up, at exit and bounded: it
// answers a shutdown once its rules and routes are gone.
void NetnsHelper::shut_down_helper() {
    if (!channel_) return;
    Request request{};
    request.seq = ++seq_;
    request.kind = kShutdown;
    ssize_t n;
    do {
        n = send(channel_.get(), &request, sizeof request, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof request)) return;
    int64_t give_up = loop_.clock_ms() + kShutdownWaitMs;
    std::string expected = std::to_string(request.seq) + " ";
    for (int64_t now = loop_.clock_ms(); now < give_up; now = loop_.clock_ms()) {
        pollfd p{channel_.get(), POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(give_up - now)) <= 0) return;
        UniqueFd none;
        std::string reply;
        Failure failure;
        if (!receive_fd(channel_.get(), &none, &reply, &failure)) {
            if (failure.error_number != EAGAIN) return;  // gone: it has exited
            continue;
        }
        if (reply.compare(0, expected.size(), expected) == 0) return;
    }
}

void NetnsHelper::queue(const Request& request) {
    if (!channel_ || unsent_.size() >= kMaxUnsent) return;
    unsent_.push_back(request);
    send_requests();
}

void NetnsHelper::release_udp_flow(const sockaddr_storage& local, uint16_t guest_port) {
    Request request{};
    request.seq = ++seq_;
    request.kind = kReleaseUdpFlow;
    request.type = SOCK_DGRAM;
    request.len = address_length(local.ss_family);
    request.from_len = request.len;
    request.from = local;
    request.addr.ss_family = local.ss_family;
    if (local.ss_family == AF_INET)
        reinterpret_cast<sockaddr_in&>(request.addr).sin_port = htons(guest_port);
    else
        reinterpret_cast<sockaddr_in6&>(request.addr).sin6_port = htons(guest_port);
    queue(request);
}

void NetnsHelper::open_socket(int type, const sockaddr_storage& to, socklen_t len,
                              const SourceAddress& from, Opened done) {
    if (!channel_) {
        done(UniqueFd(), Failure{"the port-forwarding helper is gone"});
        return;
    }
    // A helper that has stopped reading (stopped, or far behind) fills the
    // channel, then this queue; past that, connections fail at once.
    if (unsent_.size() >= kMaxUnsent) {
        done(UniqueFd(), Failure{"the port-forwarding helper is not answering"});
        return;
    }
    Request request{};
    request.seq = ++seq_;
    request.kind = kOpenSocket;
    request.type = type;
    request.len = len;
    std::memcpy(&request.addr, &to, len < sizeof to ? len : sizeof to);
    request.from_len = from.len;
    request.from = from.addr;
    waiting_.emplace(request.seq, std::move(done));
    unsent_.push_back(request);
    send_requests();
}

// Sends what the channel takes; the rest waits for POLLOUT.
void NetnsHelper::send_requests() {
    while (!unsent_.empty()) {
        ssize_t n;
        do {
            n = send(channel_.get(), &unsent_.front(), sizeof(Request),
                     MSG_NOSIGNAL | MSG_DONTWAIT);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN) break;
        if (n != static_cast<ssize_t>(sizeof(Request))) {
            gone();
            return;
        }
        unsent_.pop_front();
    }
    loop_.set_events(channel_.get(), unsent_.empty() ? POLLIN : POLLIN | POLLOUT);
}

void NetnsHelper::channel_ready(short revents) {
    if (revents & POLLOUT) send_requests();
    if (channel_ && (revents & (POLLIN | POLLERR | POLLHUP))) take_replies();
}

void NetnsHelper::take_replies() {
    for (;;) {
        UniqueFd received;
        std::string reply;
        Failure failure;
        if (!receive_fd(channel_.get(), &received, &reply, &failure)) {
            if (failure.error_number != EAGAIN) gone();
            return;
        }
        // "SEQ ERRNO TEXT"
        char* end = nullptr;
        uint64_t seq = std::strtoull(reply.c_str(), &end, 10);
        auto it = waiting_.find(seq);
        if (it == waiting_.end() || *end != ' ') continue;  // not a request of ours
        int error_number = std::atoi(end + 1);
        size_t space = reply.find(' ', static_cast<size_t>(end + 1 - reply.c_str()));
        std::string text = space == std::string::npos ? "" : reply.substr(space + 1);
        Opened done = std::move(it->second);
        waiting_.erase(it);
        if (!received && text.empty()) text = "the port-forwarding helper sent no socket";
        done(std::move(received), Failure{text, error_number});
        if (!channel_) return;  // the callback may not, but the helper may be gone
    }
}

// The helper exited or broke its channel: every request waiting fails, and
// every later one at once.
void NetnsHelper::gone() {
    log_error("the port-forwarding helper is gone; splice forwards stop connecting");
    loop_.unwatch(channel_.get());
    channel_.reset();
    unsent_.clear();
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& [seq, done] : waiting)
        done(UniqueFd(), Failure{"the port-forwarding helper is gone"});
}
