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
#include "frame_ring.hpp"
#include "interface.hpp"
#include "namespaces.hpp"
#include "redirect_keeper.hpp"
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

// The veth's end in the private namespace, named while it is still in the
// guest's, where it must not clash with another daemon's.
std::string peer_name() {
    return "s4n-p" + std::to_string(getpid());
}
std::string udp_peer_name() {
    return "s4u-p" + std::to_string(getpid());
}

// The daemon makes it non-blocking once received (the same open file).
bool create_vnet_tap(UniqueFd* tap, std::string* err) {
    if (!create_tap(kTapName, tap, err)) return false;
    int size = sizeof(VnetHeader);
    if (ioctl(tap->get(), TUNSETVNETHDRSZ, &size) < 0)
        return fail(err, errno_text("cannot set the TCP tap's header size"));
    return true;
}

bool add_ipv6_address(const std::string& name, const PrivateNetnsSettings& s, std::string* err) {
    UniqueFd sock6(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock6) return fail(err, errno_text("cannot create an IPv6 socket"));
    in6_ifreq req{};
    req.ifr6_addr = s.gateway6;
    req.ifr6_prefixlen = 64;
    req.ifr6_ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    if (ioctl(sock6.get(), SIOCSIFADDR, &req) < 0)
        return fail(err, errno_text("cannot set the IPv6 address of " + name));
    return true;
}

// The interface the private kernel sends the guest's TCP out of has the
// gateway's addresses: the tap when the daemon bridges, the veth's peer with
// kernel-to-kernel delivery (the tap then only takes the SYNs the daemon
// hands over, and has none).
bool configure_interface_here(int sock, const std::string& name, const PrivateNetnsSettings& s,
                              bool addresses, std::string* err) {
    in_addr netmask{s.prefix ? htonl(~0u << (32 - s.prefix)) : 0};
    if (!set_interface_mtu(sock, name, s.mtu, err) || !set_interface_mac(sock, name, s.mac, err) ||
        (addresses && !set_interface_ipv4(sock, name, s.gateway, netmask, err)))
        return false;
    // No router answers here, and soliciting one would only wake the daemon
    // for frames it drops (and keep the code that drops them resident). A
    // kernel without IPv6 has no such file: nothing to quiet then.
    write_file("/proc/sys/net/ipv6/conf/" + name + "/router_solicitations", "0", nullptr);
    // NOARP: the kernel addresses every frame to the interface's own MAC and
    // never asks for neighbours (nor runs duplicate address detection). The
    // daemon puts in the guest's MAC; the veth's other end, carrying the
    // same MAC, takes the frame as its own.
    return raise_interface_flags(sock, name, IFF_UP | IFF_NOARP, err) &&
           (!addresses || !s.ipv6 || add_ipv6_address(name, s, err));
}

// The AnyIP route loses to the gateway's own subnet, where the DNS address
// is: that one address goes on lo.
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

// The UDP veth (tc_redirect.hpp), its guest end as inert as the TCP one's.
bool begin_udp_redirect(int sock, const PrivateNetnsSettings& s, Rtnetlink* guest_ns,
                        TcRedirect* redirect, std::string* err) {
    std::string veth = udp_veth_name(s.tap);
    if (!redirect->create_udp_veth(*guest_ns, s.tap, udp_peer_name(), s.mtu, err)) return false;
    write_file("/proc/sys/net/ipv6/conf/" + veth + "/disable_ipv6", "1", nullptr);
    return raise_interface_flags(sock, veth, IFF_UP | IFF_NOARP, err);
}

// In the guest's namespace, before the private one exists: the veth, its
// guest end inert (no IPv6, no ARP, no addresses) and up.
bool begin_redirect(const PrivateNetnsSettings& s, Rtnetlink* guest_ns, TcRedirect* redirect,
                    std::string* err) {
    if (!guest_ns->open(err)) return false;
    TcRedirect::remove_leftovers(*guest_ns, s.tap);
    std::string veth = redirect_veth_name(s.tap);
    if (!redirect->create_veth(*guest_ns, s.tap, peer_name(), s.mtu, s.mac, err)) return false;
    write_file("/proc/sys/net/ipv6/conf/" + veth + "/disable_ipv6", "1", nullptr);
    UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return fail(err, errno_text("socket"));
    if (!raise_interface_flags(sock.get(), veth, IFF_UP | IFF_NOARP, err)) return false;
    // The UDP veth is a speed-up only: without it, UDP is read from the tap.
    std::string why;
    if (s.redirect_udp && !begin_udp_redirect(sock.get(), s, guest_ns, redirect, &why)) {
        udp_redirect_unavailable(why);
        redirect->remove_udp(*guest_ns);
    }
    return true;
}

// In the private namespace: the UDP veth's peer, inert (no addresses, no
// ARP, IPv6 off, a MAC of its own, so the private kernel drops every frame
// it gets as another host's), and the packet socket that reads it.
bool finish_udp_redirect(int sock, Rtnetlink& guest_ns, int netns_fd, TcRedirect* redirect,
                         UniqueFd* frames, std::string* err) {
    std::string peer = udp_peer_name();
    if (!redirect->move_udp_peer(guest_ns, netns_fd, err)) return false;
    write_file("/proc/sys/net/ipv6/conf/" + peer + "/disable_ipv6", "1", nullptr);
    return raise_interface_flags(sock, peer, IFF_UP | IFF_NOARP, err) &&
           FrameRing::open_socket(peer, frames, err);
}

// In the private namespace: the veth's peer joins it with the gateway's
// addresses, and the filters go in last, once what they lead to is ready.
bool finish_redirect(int sock, const PrivateNetnsSettings& s, Rtnetlink& guest_ns,
                     TcRedirect* redirect, UniqueFd* udp_frames, std::string* err) {
    UniqueFd here(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!here) return fail(err, errno_text("cannot open the TCP namespace"));
    if (!redirect->move_peer(guest_ns, here.get(), err) ||
        !configure_interface_here(sock, peer_name(), s, true, err) ||
        !redirect->install(guest_ns, s.scope, err))
        return false;
    std::string why;
    if (redirect->has_udp_veth() &&
        !finish_udp_redirect(sock, guest_ns, here.get(), redirect, udp_frames, &why)) {
        udp_redirect_unavailable(why);
        redirect->remove_udp(guest_ns);
        udp_frames->reset();
    }
    return true;
}

bool listen_on(int family, uint16_t port, UniqueFd* listener, std::string* err) {
    UniqueFd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fail(err, errno_text("socket"));
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage a{};
    socklen_t len;
    if (family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&a);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        len = sizeof *sin;
    } else {
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        len = sizeof *sin6;
    }
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len) < 0 || listen(fd.get(), SOMAXCONN) < 0)
        return fail(err, errno_text("cannot listen in the TCP namespace"));
    *listener = std::move(fd);
    return true;
}

// Unshares the network namespace and sets it up (see private_netns.hpp).
// *redirecting: on entry, whether the veth is made; on return, whether
// kernel-to-kernel delivery is in place (else made->why_not says why).
bool make_namespace(const PrivateNetnsSettings& s, Rtnetlink& guest_ns, TcRedirect* redirect,
                    bool* redirecting, PrivateNetns* made, std::string* err) {
    if (unshare(CLONE_NEWNET) < 0)
        return fail(err, errno_text("cannot create the TCP network namespace"));
    UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return fail(err, errno_text("socket"));
    if (!raise_interface_flags(sock.get(), "lo", IFF_UP, err) || !create_vnet_tap(&made->tap, err))
        return false;
    if (*redirecting &&
        !finish_redirect(sock.get(), s, guest_ns, redirect, &made->udp_frames, &made->why_not)) {
        redirect->remove(guest_ns);
        *redirecting = false;
    }
    return configure_interface_here(sock.get(), kTapName, s, !*redirecting, err) &&
           add_anyip_routes(s, err) && add_dns_addresses(sock.get(), s, err) &&
           listen_on(AF_INET, kKernelListenPort, &made->listen4, err) &&
           (!s.ipv6 || listen_on(AF_INET6, kKernelListenPort, &made->listen6, err));
}

// Everything the child does once in the target's user namespace (err: why
// it could not get there): waits for the daemon's word, makes the namespace,
// sends its descriptors, and exits or, with kernel-to-kernel delivery in
// place, stays as its keeper. The message is "R" (delivery in place), "B"
// and why not (the daemon bridges), or "E" and the error.
[[noreturn]] void make_namespace_and_exit(const PrivateNetnsSettings& s, int channel,
                                          std::string err) {
    // Making a network namespace takes about a millisecond of CPU: wait
    // until the daemon is ready rather than compete with its start-up.
    char go;
    if (read(channel, &go, 1) != 1) _exit(1);
    PrivateNetns made;
    Rtnetlink guest_ns;
    TcRedirect redirect;
    bool redirecting = false;
    if (err.empty() && s.redirect) {
        redirecting = begin_redirect(s, &guest_ns, &redirect, &made.why_not);
        if (!redirecting) redirect.remove(guest_ns);
    }
    if (!err.empty() || !make_namespace(s, guest_ns, &redirect, &redirecting, &made, &err)) {
        redirect.remove(guest_ns);
        send_message(channel, "E" + (err.empty() ? std::string("unknown failure") : err));
        _exit(1);
    }
    // One message, so that the daemon, woken by it, never waits for the rest.
    std::vector<int> fds{made.tap.get(), made.listen4.get()};
    if (s.ipv6) fds.push_back(made.listen6.get());
    if (redirecting && made.udp_frames) fds.push_back(made.udp_frames.get());
    send_fds(channel, fds, redirecting ? "R" : "B" + made.why_not);
    if (!redirecting) _exit(0);
    run_redirect_keeper(channel, guest_ns, redirect, s.scope, s.seccomp);
}

}  // namespace

void udp_redirect_unavailable(const std::string& why) {
    log_error("kernel-to-kernel UDP delivery unavailable (" + why +
              "); the daemon reads UDP from the tap");
}

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

bool listen_in_private_netns(int family, uint16_t port, UniqueFd* listener, std::string* err) {
    return listen_on(family, port, listener, err);
}

bool finish_private_netns(PendingPrivateNetns& pending, bool offloads, PrivateNetns* out,
                          std::string* err) {
    std::vector<UniqueFd> fds;
    std::string message;
    if (!receive_fds(pending.channel.get(), &fds, &message, nullptr) || message.empty())
        return fail(err, "the TCP namespace child exited");
    if (message[0] == 'E') return fail(err, message.substr(1));
    size_t expected = pending.ipv6 ? 3u : 2u;
    if (fds.size() != expected && fds.size() != expected + 1)
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
    out->redirect = message[0] == 'R';
    out->why_not = message.substr(1);
    if (out->redirect && fds.size() == expected + 1) out->udp_frames = std::move(fds[expected]);
    if (out->redirect) {
        // The child lives on as the keeper, on this channel.
        out->keeper_channel = std::move(pending.channel);
        out->keeper = std::move(pending.child);
    }
    return true;
}
