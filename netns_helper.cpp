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

#include "fd_passing.hpp"
#include "sandbox.hpp"
#include "seccomp.hpp"
#include "tap.hpp"
#include "transparent_routing.hpp"
#include "transparent_socket.hpp"

namespace {

// A wedged or dead helper must not stall the loop: a reply takes microseconds,
// so a second is already a failure.
constexpr int kReplyTimeoutSeconds = 2;
// Start-up includes joining namespaces and building the sandbox.
constexpr int kStartTimeoutSeconds = 10;

enum RequestKind : int32_t {
    kOpenSocket = 1,      // answered with the socket or an error
    kReleaseUdpFlow = 2,  // not answered
    kShutdown = 3,        // answered once the namespace is tidied up
};

struct Request {
    uint64_t seq;  // echoed in the reply, so a late answer is never taken for a newer one
    int32_t kind;
    int32_t type;
    uint32_t len;
    uint32_t from_len;
    sockaddr_storage addr;  // where to connect; for a release, the flow's guest side
    sockaddr_storage from;  // the transparent source; for a release, the flow's local side
};

std::string errno_text(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

// A reply's message is "SEQ ERRNO TEXT": the sequence number of the request
// it answers, the errno behind a failure (0 otherwise), and the error text.
std::string reply_message(uint64_t seq, const OpenedSocket& opened) {
    return std::to_string(seq) + " " + std::to_string(opened.error_number) + " " + opened.error;
}

socklen_t address_length(int family) {
    if (family == AF_INET) return sizeof(sockaddr_in);
    if (family == AF_INET6) return sizeof(sockaddr_in6);
    return 0;
}

uint16_t port_of(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
    return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
}

bool valid_request(const Request& r) {
    if (r.kind == kShutdown) return true;
    if (r.kind != kOpenSocket && r.kind != kReleaseUdpFlow) return false;
    if (r.type != SOCK_STREAM && r.type != SOCK_DGRAM) return false;
    if (r.len == 0 || r.len != address_length(r.addr.ss_family)) return false;
    if (r.from_len == 0) return r.kind == kOpenSocket;
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

// Returns "" or the fatal error; *routing_error says why transparent
// forwards are unavailable, if they are.
std::string enter_namespaces(const Options& options, int channel, TransparentRouting* routing,
                             std::string* routing_error) {
    TargetNamespaces ns = open_target_namespaces(options);
    if (!ns.error.empty()) return ns.error;
    std::string error = join_target_namespaces(ns);
    if (!error.empty()) return error;
    ns.user.reset();
    ns.net.reset();
    close_inherited_fds(channel);
    // Before the sandbox: it needs /proc/sys, which the sandbox's root lacks.
    routing->set_up(options.network.guest, options.enable_ipv6, routing_error);
    if (options.enable_sandbox) {
        // Transparent sockets (IP_TRANSPARENT, SO_MARK) and the UDP reply
        // rules need CAP_NET_ADMIN in the namespace; nothing else does.
        error = enter_sandbox(options, routing->ready());
        if (!error.empty()) return "port-forwarding helper: " + error;
    }
    if (options.enable_seccomp) {
        error = install_seccomp_filter();
        if (!error.empty()) return "port-forwarding helper: " + error;
    }
    return "";
}

OpenedSocket open_requested_socket(const Request& r, TransparentRouting& routing) {
    SourceAddress from;
    from.addr = r.from;
    from.len = r.from_len;
    if (from.len > 0 && !routing.ready()) {
        OpenedSocket refused;
        refused.error = "transparent forwarding is not set up in the namespace";
        return refused;
    }
    OpenedSocket opened;
    if (from.len > 0 && r.type == SOCK_DGRAM && r.addr.ss_family == AF_INET &&
        !routing.ensure_reply_source(reinterpret_cast<const sockaddr_in&>(r.addr).sin_addr,
                                     &opened.error))
        return opened;
    opened = open_connected_socket(r.type, r.addr, r.len, from);
    if (!opened.fd || from.len == 0 || r.type != SOCK_DGRAM) return opened;
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    if (getsockname(opened.fd.get(), reinterpret_cast<sockaddr*>(&local), &local_len) < 0 ||
        !routing.divert_udp_replies(local, port_of(r.addr), &opened.error)) {
        if (opened.error.empty()) opened.error = errno_text("getsockname");
        opened.fd.reset();
    }
    return opened;
}

[[noreturn]] void helper_main(const Options& options, UniqueFd channel) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "slirp4netns-fwd");
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    TransparentRouting routing;
    std::string routing_error;
    std::string error = enter_namespaces(options, channel.get(), &routing, &routing_error);
    send_fd(channel.get(), -1, error);
    if (!error.empty()) {
        routing.tear_down();
        _exit(1);
    }
    send_fd(channel.get(), -1, routing_error);
    for (;;) {
        Request request{};
        ssize_t n = recv(channel.get(), &request, sizeof request, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || request.kind == kShutdown) {  // the daemon is gone, or going
            routing.tear_down();
            if (n > 0) send_fd(channel.get(), -1, reply_message(request.seq, OpenedSocket{}));
            _exit(0);
        }
        if (n != static_cast<ssize_t>(sizeof request) || !valid_request(request)) {
            OpenedSocket refused;
            refused.error = "malformed request to the port-forwarding helper";
            send_fd(channel.get(), -1, reply_message(request.seq, refused));
            continue;
        }
        if (request.kind == kReleaseUdpFlow) {
            routing.stop_diverting(request.from, port_of(request.addr));
            continue;
        }
        OpenedSocket opened = open_requested_socket(request, routing);
        send_fd(channel.get(), opened.fd.get(), reply_message(request.seq, opened));
    }
}

bool send_request(int channel, const Request& request) {
    ssize_t n;
    do {
        n = send(channel, &request, sizeof request, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(sizeof request);
}

OpenedSocket await_reply(int channel, uint64_t seq) {
    OpenedSocket out;
    std::string expected = std::to_string(seq) + " ";
    ReceivedFd reply;
    do {  // answers to requests that timed out earlier are dropped here
        reply = receive_fd(channel);
        if (!reply.ok) {
            out.error = "the port-forwarding helper did not answer";
            return out;
        }
    } while (reply.message.compare(0, expected.size(), expected) != 0);
    reply.message.erase(0, expected.size());
    size_t space = reply.message.find(' ');
    if (space == std::string::npos) {
        out.error = "the port-forwarding helper sent a malformed reply";
        return out;
    }
    out.error_number = std::atoi(reply.message.c_str());
    reply.message.erase(0, space + 1);
    if (!reply.fd) {
        out.error =
            reply.message.empty() ? "the port-forwarding helper sent no socket" : reply.message;
        return out;
    }
    out.fd = std::move(reply.fd);
    return out;
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

OpenedSocket open_connected_socket(int type, const sockaddr_storage& to, socklen_t len,
                                   const SourceAddress& from) {
    OpenedSocket out;
    if (to.ss_family == AF_INET6 &&
        tentative_own_address(reinterpret_cast<const sockaddr_in6&>(to))) {
        out.error_number = EADDRNOTAVAIL;
        out.error = "connect: the namespace's IPv6 address is still tentative";
        return out;
    }
    UniqueFd fd(socket(to.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        out.error_number = errno;
        out.error = errno_text("socket");
        return out;
    }
    if (from.len > 0 && !bind_transparent(fd.get(), from, &out)) return out;
    int rc;
    do {
        rc = connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), len);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno != EINPROGRESS) {
        out.error_number = errno;
        out.error = errno_text("connect");
        return out;
    }
    out.fd = std::move(fd);
    return out;
}

std::unique_ptr<NetnsHelper> NetnsHelper::start(const Options& options, std::string* error) {
    if (options.netns_type == NetnsType::TapFd) {
        *error = "the port-forwarding helper needs a namespace target, not a tap FD";
        return nullptr;
    }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
        *error = errno_text("socketpair");
        return nullptr;
    }
    UniqueFd ours(pair[0]);
    UniqueFd theirs(pair[1]);
    pid_t pid = fork();
    if (pid < 0) {
        *error = errno_text("fork");
        return nullptr;
    }
    if (pid == 0) {
        ours.reset();
        helper_main(options, std::move(theirs));
    }
    theirs.reset();
    set_timeout(ours.get(), kStartTimeoutSeconds);
    ReceivedFd hello = receive_fd(ours.get());
    if (!hello.ok || !hello.message.empty()) {
        *error = hello.ok ? hello.message : "the port-forwarding helper exited during start-up";
        kill(pid, SIGKILL);
        return nullptr;
    }
    ReceivedFd routing = receive_fd(ours.get());
    if (!routing.ok) {
        *error = "the port-forwarding helper exited during start-up";
        kill(pid, SIGKILL);
        return nullptr;
    }
    set_timeout(ours.get(), kReplyTimeoutSeconds);
    return std::unique_ptr<NetnsHelper>(new NetnsHelper(std::move(ours), routing.message));
}

NetnsHelper::~NetnsHelper() {
    // The helper removes what it added to the namespace, then answers; the
    // daemon's exit would otherwise kill it (PR_SET_PDEATHSIG) half way. A
    // helper that does not answer in time is left to that.
    Request request{};
    request.seq = ++seq_;
    request.kind = kShutdown;
    if (send_request(channel_.get(), request)) await_reply(channel_.get(), request.seq);
    channel_.reset();
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
    send_request(channel_.get(), request);
}

OpenedSocket NetnsHelper::open_socket(int type, const sockaddr_storage& to, socklen_t len,
                                      const SourceAddress& from) {
    Request request{};
    request.seq = ++seq_;
    request.kind = kOpenSocket;
    request.type = type;
    request.len = len;
    std::memcpy(&request.addr, &to, len < sizeof to ? len : sizeof to);
    request.from_len = from.len;
    std::memcpy(&request.from, &from.addr, sizeof from.addr);
    if (!send_request(channel_.get(), request)) {
        OpenedSocket out;
        out.error = errno_text("the port-forwarding helper is gone");
        return out;
    }
    return await_reply(channel_.get(), request.seq);
}
