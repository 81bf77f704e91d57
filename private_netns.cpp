// SPDX-License-Identifier: GPL-2.0-or-later
// private_netns.cpp: the kernel TCP path's namespace (see private_netns.hpp).
#include "private_netns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/ipv6.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "child_process.hpp"
#include "error.hpp"
#include "fd_passing.hpp"
#include "files.hpp"
#include "interface.hpp"
#include "namespaces.hpp"
#include "rtnetlink.hpp"
#include "tap.hpp"
#include "tcp_classifier.hpp"
#include "vnet.hpp"

namespace {

constexpr const char* kTapName = "tcp0";

// Into the target's user namespace, where the tap child also goes; with no
// target namespace to follow (a tap FD, BESS), a new one when unprivileged.
bool enter_user_namespace(const Options& options, std::string* err) {
    if (options.target_type == TargetType::Netns && options.netns_type != NetnsType::TapFd) {
        TargetNamespaces ns;
        return open_target_namespaces(options, &ns, err) &&
               (!ns.user || join_user_namespace(ns.user.get(), err));
    }
    // Root may make a network namespace as it is; anyone else needs a user
    // namespace that owns it.
    if (geteuid() == 0 || unshare(CLONE_NEWUSER) == 0) return true;
    return fail(err, errno_text("cannot create a user namespace"));
}

// The daemon makes it non-blocking once received (the same open file).
bool create_vnet_tap(UniqueFd* tap, std::string* err) {
    if (!create_tap(kTapName, tap, err)) return false;
    int size = sizeof(VnetHeader);
    if (ioctl(tap->get(), TUNSETVNETHDRSZ, &size) < 0)
        return fail(err, errno_text("cannot set the TCP tap's header size"));
    return true;
}

bool configure_tap(int sock, const PrivateNetnsSettings& s, std::string* err) {
    in_addr netmask{s.prefix ? htonl(~0u << (32 - s.prefix)) : 0};
    if (!set_interface_mtu(sock, kTapName, s.mtu, err) ||
        !set_interface_mac(sock, kTapName, s.mac, err) ||
        !set_interface_ipv4(sock, kTapName, s.gateway, netmask, err))
        return false;
    // No router answers here, and soliciting one would only wake the daemon
    // for frames it drops (and keep the code that drops them resident). A
    // kernel without IPv6 has no such file: nothing to quiet then.
    write_file(std::string("/proc/sys/net/ipv6/conf/") + kTapName + "/router_solicitations", "0",
               nullptr);
    // NOARP: the kernel addresses every frame to the tap's own MAC and never
    // asks for neighbours (nor runs duplicate address detection); the daemon
    // puts in the guest's MAC.
    return raise_interface_flags(sock, kTapName, IFF_UP | IFF_NOARP, err);
}

bool add_ipv6_address(const PrivateNetnsSettings& s, std::string* err) {
    UniqueFd sock6(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock6) return fail(err, errno_text("cannot create an IPv6 socket"));
    in6_ifreq req{};
    req.ifr6_addr = s.gateway6;
    req.ifr6_prefixlen = 64;
    req.ifr6_ifindex = static_cast<int>(if_nametoindex(kTapName));
    if (ioctl(sock6.get(), SIOCSIFADDR, &req) < 0)
        return fail(err, errno_text("cannot set the TCP tap's IPv6 address"));
    return true;
}

// The AnyIP route loses to the tap's own subnet, where the DNS address is:
// that one address goes on lo.
bool add_dns_addresses(int sock, const PrivateNetnsSettings& s, std::string* err) {
    if (s.dns.s_addr == 0) return true;
    // One address, not the classful /8 a bare SIOCSIFADDR would give lo
    // (which would make the guest's own addresses local here).
    if (!set_interface_ipv4(sock, "lo:dns", s.dns, in_addr{INADDR_BROADCAST}, err)) return false;
    if (!s.ipv6) return true;
    UniqueFd sock6(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    in6_ifreq req{};
    req.ifr6_addr = s.dns6;
    req.ifr6_prefixlen = 128;
    req.ifr6_ifindex = static_cast<int>(if_nametoindex("lo"));
    if (!sock6 || ioctl(sock6.get(), SIOCSIFADDR, &req) < 0)
        return fail(err, errno_text("cannot put the IPv6 DNS address on lo"));
    return true;
}

bool add_anyip_routes(const PrivateNetnsSettings& s, std::string* err) {
    Rtnetlink netlink;
    if (!netlink.open(err)) return false;
    int lo = static_cast<int>(if_nametoindex("lo"));
    for (int family : {AF_INET, AF_INET6}) {
        if (family == AF_INET6 && !s.ipv6) continue;
        LocalDefaultRoute route;
        route.family = family;
        route.table = RT_TABLE_MAIN;
        route.ifindex = lo;
        if (int e = netlink.add_route(route); e != 0)
            return fail(err, errno_text("cannot add the local default route", e));
    }
    return true;
}

bool listen_on(int family, UniqueFd* listener, std::string* err) {
    UniqueFd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fail(err, errno_text("socket"));
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage a{};
    socklen_t len;
    if (family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&a);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(kKernelListenPort);
        len = sizeof *sin;
    } else {
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(kKernelListenPort);
        len = sizeof *sin6;
    }
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len) < 0 || listen(fd.get(), SOMAXCONN) < 0)
        return fail(err, errno_text("cannot listen in the TCP namespace"));
    *listener = std::move(fd);
    return true;
}

// Unshares the network namespace and sets it up (see private_netns.hpp).
bool make_namespace(const PrivateNetnsSettings& s, PrivateNetns* made, std::string* err) {
    if (unshare(CLONE_NEWNET) < 0)
        return fail(err, errno_text("cannot create the TCP network namespace"));
    UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return fail(err, errno_text("socket"));
    return raise_interface_flags(sock.get(), "lo", IFF_UP, err) &&
           create_vnet_tap(&made->tap, err) && configure_tap(sock.get(), s, err) &&
           (!s.ipv6 || add_ipv6_address(s, err)) && add_anyip_routes(s, err) &&
           add_dns_addresses(sock.get(), s, err) && listen_on(AF_INET, &made->listen4, err) &&
           (!s.ipv6 || listen_on(AF_INET6, &made->listen6, err));
}

// Everything the child does once in the target's user namespace (err: why
// it could not get there): waits for the daemon's word, makes the namespace,
// sends its descriptors and exits. The message carries "" or the error.
[[noreturn]] void make_namespace_and_exit(const PrivateNetnsSettings& s, int channel,
                                          std::string err) {
    // Making a network namespace takes about a millisecond of CPU: wait
    // until the daemon is ready rather than compete with its start-up.
    char go;
    if (read(channel, &go, 1) != 1) _exit(1);
    PrivateNetns made;
    if (!err.empty() || !make_namespace(s, &made, &err)) {
        send_message(channel, err.empty() ? "unknown failure" : err);
        _exit(1);
    }
    // One message, so that the daemon, woken by it, never waits for the rest.
    std::vector<int> fds{made.tap.get(), made.listen4.get()};
    if (s.ipv6) fds.push_back(made.listen6.get());
    send_fds(channel, fds, "");
    _exit(0);
}

}  // namespace

std::array<uint8_t, 6> gateway_mac(in_addr gateway) {
    std::array<uint8_t, 6> mac{0x52, 0x55, 0, 0, 0, 0};
    std::memcpy(mac.data() + 2, &gateway, 4);
    return mac;
}

bool start_private_netns(const Options& options, const PrivateNetnsSettings& s,
                         PendingPrivateNetns* out, std::string* err) {
    auto body = [&](UniqueFd theirs) {
        std::string why;
        enter_user_namespace(options, &why);
        make_namespace_and_exit(s, theirs.get(), why);
    };
    if (!fork_with_channel(body, &out->channel, &out->child, err)) return false;
    out->ipv6 = s.ipv6;
    out->mac = s.mac;
    return true;
}

void make_private_netns_here(const PrivateNetnsSettings& s, int channel) {
    make_namespace_and_exit(s, channel, "");
}

void adopt_private_netns_child(const PrivateNetnsSettings& s, UniqueFd channel, ChildProcess child,
                               PendingPrivateNetns* out) {
    out->channel = std::move(channel);
    out->child = std::move(child);
    out->ipv6 = s.ipv6;
    out->mac = s.mac;
}

void let_private_netns_begin(PendingPrivateNetns& pending) {
    (void)!write(pending.channel.get(), "g", 1);
}

bool finish_private_netns(PendingPrivateNetns& pending, bool offloads, PrivateNetns* out,
                          std::string* err) {
    std::vector<UniqueFd> fds;
    std::string message;
    if (!receive_fds(pending.channel.get(), &fds, &message, nullptr))
        return fail(err, "the TCP namespace child exited");
    if (!message.empty()) return fail(err, message);
    if (fds.size() != (pending.ipv6 ? 3u : 2u))
        return fail(err, "the TCP namespace child sent too few descriptors");
    unsigned flags = offloads ? TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 : 0;
    if (ioctl(fds[0].get(), TUNSETOFFLOAD, flags) < 0)
        return fail(err, errno_text("cannot set the TCP tap's offloads"));
    out->tap = std::move(fds[0]);
    out->listen4 = std::move(fds[1]);
    if (pending.ipv6) out->listen6 = std::move(fds[2]);
    out->mac = pending.mac;
    for (int fd : {out->tap.get(), out->listen4.get(), out->listen6.get()})
        if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return true;
}
