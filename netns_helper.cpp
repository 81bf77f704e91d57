// netns_helper.cpp: the namespace-side socket opener (see netns_helper.hpp).
#include "netns_helper.hpp"

#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "confine.hpp"
#include "error.hpp"
#include "fd_passing.hpp"
#include "namespaces.hpp"

namespace {

// A wedged or dead helper must not stall the loop: a reply takes microseconds,
// so a second is already a failure.
constexpr int kReplyTimeoutSeconds = 2;
// Start-up includes joining namespaces and building the sandbox.
constexpr int kStartTimeoutSeconds = 10;

struct Request {
    uint64_t seq;  // echoed in the reply, so a late answer is never taken for a newer one
    int32_t type;
    uint32_t len;
    sockaddr_storage addr;
};

// A reply's message is "SEQ ERRNO TEXT": the sequence number of the request
// it answers, the errno behind a failure (0 otherwise), and the error text.
std::string reply_message(uint64_t seq, int error_number, const std::string& error) {
    return std::to_string(seq) + " " + std::to_string(error_number) + " " + error;
}

bool valid_request(const Request& r) {
    if (r.type != SOCK_STREAM && r.type != SOCK_DGRAM) return false;
    if (r.addr.ss_family == AF_INET) return r.len == sizeof(sockaddr_in);
    if (r.addr.ss_family == AF_INET6) return r.len == sizeof(sockaddr_in6);
    return false;
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

bool enter_namespaces(const Options& options, int channel, std::string* err) {
    {
        TargetNamespaces ns;
        if (!open_target_namespaces(options, &ns, err) || !join_target_namespaces(ns, err))
            return false;
    }
    close_inherited_fds(channel);
    std::string why;
    if (!confine(options, &why)) return fail(err, "port-forwarding helper: " + why);
    return true;
}

[[noreturn]] void helper_main(const Options& options, UniqueFd channel) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "slirp4netns-fwd");
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::string error;
    bool entered = enter_namespaces(options, channel.get(), &error);
    send_fd(channel.get(), -1, error);
    if (!entered) _exit(1);
    for (;;) {
        Request request{};
        ssize_t n = recv(channel.get(), &request, sizeof request, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(0);  // the daemon is gone
        if (n != static_cast<ssize_t>(sizeof request) || !valid_request(request)) {
            send_fd(
                channel.get(), -1,
                reply_message(request.seq, 0, "malformed request to the port-forwarding helper"));
            continue;
        }
        UniqueFd opened;
        int error_number = 0;
        error.clear();
        open_connected_socket(request.type, request.addr, request.len, &opened, &error_number,
                              &error);
        send_fd(channel.get(), opened.get(), reply_message(request.seq, error_number, error));
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

bool open_connected_socket(int type, const sockaddr_storage& to, socklen_t len, UniqueFd* out,
                           int* error_number, std::string* err) {
    *error_number = 0;
    if (to.ss_family == AF_INET6 &&
        tentative_own_address(reinterpret_cast<const sockaddr_in6&>(to))) {
        *error_number = EADDRNOTAVAIL;
        return fail(err, "connect: the namespace's IPv6 address is still tentative");
    }
    UniqueFd fd(socket(to.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        *error_number = errno;
        return fail(err, errno_text("socket"));
    }
    int rc;
    do {
        rc = connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), len);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno != EINPROGRESS) {
        *error_number = errno;
        return fail(err, errno_text("connect"));
    }
    *out = std::move(fd);
    return true;
}

bool NetnsHelper::start(const Options& options, std::unique_ptr<NetnsHelper>* out,
                        std::string* err) {
    if (options.netns_type == NetnsType::TapFd)
        return fail(err, "the port-forwarding helper needs a namespace target, not a tap FD");
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
        return fail(err, errno_text("socketpair"));
    UniqueFd ours(pair[0]);
    UniqueFd theirs(pair[1]);
    pid_t pid = fork();
    if (pid < 0) return fail(err, errno_text("fork"));
    if (pid == 0) {
        ours.reset();
        helper_main(options, std::move(theirs));
    }
    ChildProcess process(pid);  // ended and reaped on every way out
    theirs.reset();
    set_timeout(ours.get(), kStartTimeoutSeconds);
    UniqueFd none;
    std::string hello;
    bool answered = receive_fd(ours.get(), &none, &hello);
    if (!answered || !hello.empty())
        return fail(err, answered ? hello : "the port-forwarding helper exited during start-up");
    set_timeout(ours.get(), kReplyTimeoutSeconds);
    out->reset(new NetnsHelper(std::move(ours), std::move(process)));
    return true;
}

NetnsHelper::~NetnsHelper() {
    // Closing the channel is the helper's cue to exit; the kill that follows
    // ends one that cannot notice (stopped, or wedged), then it is reaped.
    channel_.reset();
    process_.end();
}

bool NetnsHelper::open_socket(int type, const sockaddr_storage& to, socklen_t len, UniqueFd* fd,
                              int* error_number, std::string* err) {
    *error_number = 0;
    Request request{};
    request.seq = ++seq_;
    request.type = type;
    request.len = len;
    std::memcpy(&request.addr, &to, len < sizeof to ? len : sizeof to);
    ssize_t n;
    do {
        n = send(channel_.get(), &request, sizeof request, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof request))
        return fail(err, errno_text("the port-forwarding helper is gone"));
    std::string expected = std::to_string(request.seq) + " ";
    UniqueFd received;
    std::string reply;
    do {  // answers to requests that timed out earlier are dropped here
        if (!receive_fd(channel_.get(), &received, &reply))
            return fail(err, "the port-forwarding helper did not answer");
    } while (reply.compare(0, expected.size(), expected) != 0);
    reply.erase(0, expected.size());
    size_t space = reply.find(' ');
    if (space == std::string::npos)
        return fail(err, "the port-forwarding helper sent a malformed reply");
    *error_number = std::atoi(reply.c_str());
    reply.erase(0, space + 1);
    if (!received)
        return fail(err, reply.empty() ? "the port-forwarding helper sent no socket" : reply);
    *fd = std::move(received);
    return true;
}
