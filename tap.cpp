// tap.cpp: namespace entry and tap creation in a child (see tap.hpp).
#include "tap.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "fd_passing.hpp"
#include "interface.hpp"

namespace {

std::string errno_text(const std::string& what) {
    return what + ": " + std::strerror(errno);
}

// Worded like the original's failure on /proc/PID/ns/net, which scripts grep.
std::string no_such_process(pid_t pid) {
    std::string ns = "/proc/" + std::to_string(pid) + "/ns/net";
    return "no process with PID " + std::to_string(pid) + " (" + ns + ": " + std::strerror(ENOENT) +
           ")";
}

bool same_namespace(int fd, const char* own_path) {
    struct stat theirs {};
    struct stat ours {};
    if (fstat(fd, &theirs) < 0 || stat(own_path, &ours) < 0) return false;
    return theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

UniqueFd open_namespace(const std::string& path) {
    return UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

UniqueFd create_tap(const std::string& name, std::string* error) {
    UniqueFd tun(open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!tun) {
        *error = errno_text("cannot open /dev/net/tun");
        return {};
    }
    ifreq ifr{};
    // IFF_VNET_HDR: frames carry a virtio-net header, so the daemon can let the
    // kernel segment and checksum (see vnet.hpp).
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (ioctl(tun.get(), TUNSETIFF, &ifr) < 0) {
        *error = errno_text("cannot create tap device \"" + name + "\" (TUNSETIFF)");
        return {};
    }
    return tun;
}

// Everything the child does; returns the tap fd or sets *error.
UniqueFd child_create_tap(const Options& options, const TargetNamespaces& ns, std::string* error) {
    *error = join_target_namespaces(ns);
    if (!error->empty()) return {};
    UniqueFd tap = create_tap(options.tap_name, error);
    if (!tap || !options.configure) return tap;
    InterfaceSettings settings{options.tap_name, options.mtu, options.mac, options.network,
                               options.enable_ipv6};
    *error = configure_interface(settings);
    if (!error->empty()) return {};
    return tap;
}

TapResult adopt_tap_fd(int fd) {
    TapResult result;
    if (fcntl(fd, F_GETFD) < 0) {
        result.error = "tap FD " + std::to_string(fd) + " is not open";
        return result;
    }
    // Anything else (a terminal, a socket) would be read as frames.
    ifreq ifr{};
    if (ioctl(fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_TAP)) {
        result.error = "FD " + std::to_string(fd) + " is not a tap device";
        return result;
    }
    result.fd.reset(fd);
    return result;
}

}  // namespace

TargetNamespaces open_target_namespaces(const Options& options) {
    TargetNamespaces ns;
    std::string net_path = options.target;
    std::string user_path = options.userns_path;
    if (options.netns_type == NetnsType::Pid) {
        std::string proc = "/proc/" + std::to_string(options.target_pid) + "/ns/";
        net_path = proc + "net";
        if (user_path.empty()) user_path = proc + "user";
    }
    // The original's words for a missing path are kept: scripts grep them.
    ns.net = open_namespace(net_path);
    if (!ns.net) {
        if (options.netns_type == NetnsType::Pid && errno == ENOENT)
            ns.error = no_such_process(options.target_pid);
        else if (errno == ENOENT)
            ns.error = "existing path expected when --netns-type=path: \"" + net_path +
                       "\": " + std::strerror(ENOENT);
        else
            ns.error = errno_text("cannot open network namespace \"" + net_path + "\"");
        return ns;
    }
    if (user_path.empty()) return ns;
    ns.user = open_namespace(user_path);
    if (!ns.user) {
        if (errno == ENOENT)
            ns.error = "userns path doesn't exist: \"" + user_path + "\"";
        else
            ns.error = errno_text("cannot open user namespace \"" + user_path + "\"");
        return ns;
    }
    // Joining our own user namespace is an error (EINVAL), and not needed.
    if (same_namespace(ns.user.get(), "/proc/self/ns/user")) ns.user.reset();
    return ns;
}

std::string join_target_namespaces(const TargetNamespaces& ns) {
    if (ns.user && setns(ns.user.get(), CLONE_NEWUSER) < 0)
        return errno_text("cannot join the target's user namespace");
    if (setns(ns.net.get(), CLONE_NEWNET) < 0)
        return errno_text("cannot join the target's network namespace");
    return "";
}

TapResult open_tap(const Options& options) {
    if (options.netns_type == NetnsType::TapFd) {
        TapResult adopted = adopt_tap_fd(options.tap_fd);
        if (adopted.fd) fcntl(adopted.fd.get(), F_SETFL, O_NONBLOCK | O_RDWR);
        return adopted;
    }
    TapResult result;
    if (options.netns_type == NetnsType::Pid) {
        long pidfd = syscall(SYS_pidfd_open, options.target_pid, 0);
        result.target_process.reset(static_cast<int>(pidfd));
        if (!result.target_process && errno == ESRCH) {
            result.error = no_such_process(options.target_pid);
            return result;
        }
    }
    TargetNamespaces ns = open_target_namespaces(options);
    if (!ns.error.empty()) {
        result.error = ns.error;
        return result;
    }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
        result.error = errno_text("socketpair");
        return result;
    }
    UniqueFd parent_end(pair[0]);
    UniqueFd child_end(pair[1]);
    pid_t pid = fork();
    if (pid < 0) {
        result.error = errno_text("fork");
        return result;
    }
    if (pid == 0) {
        parent_end.reset();
        std::string error;
        UniqueFd tap = child_create_tap(options, ns, &error);
        send_fd(child_end.get(), tap.get(), error);
        _exit(tap ? 0 : 1);
    }
    child_end.reset();
    ReceivedFd received = receive_fd(parent_end.get());
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!received.fd) {
        result.error = received.message.empty() ? "the namespace child exited without a tap fd"
                                                : received.message;
        return result;
    }
    fcntl(received.fd.get(), F_SETFL, O_NONBLOCK | O_RDWR);
    result.fd = std::move(received.fd);
    return result;
}
