// SPDX-License-Identifier: GPL-2.0-or-later
// interface.cpp configures the tap inside the target namespace with plain
// ioctls: they need nothing beyond CAP_NET_ADMIN in the namespace's owner.
#include "interface.hpp"

#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "files.hpp"
#include "unique_fd.hpp"

namespace {

bool failure(const std::string& what, const std::string& ifname, std::string* err) {
    return fail(err, errno_text(what + " on " + ifname));
}

ifreq request_for(const std::string& name) {
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    return ifr;
}

void set_ipv4(sockaddr* sa, in_addr addr) {
    auto* sin = reinterpret_cast<sockaddr_in*>(sa);
    sin->sin_family = AF_INET;
    sin->sin_addr = addr;
}

bool add_default_route(int sock, const InterfaceSettings& s, std::string* err) {
    rtentry route{};
    in_addr any{};
    set_ipv4(&route.rt_dst, any);
    set_ipv4(&route.rt_genmask, any);
    set_ipv4(&route.rt_gateway, s.network.gateway);
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    std::string dev = s.name;
    route.rt_dev = dev.data();
    if (ioctl(sock, SIOCADDRT, &route) < 0) return failure("cannot add default route", s.name, err);
    return true;
}

// Router advertisements from libslirp give the IPv6 address; make sure the
// kernel listens to them even where a distribution's defaults say otherwise.
void accept_router_advertisements(const std::string& name) {
    write_file("/proc/sys/net/ipv6/conf/" + name + "/accept_ra", "1", nullptr);
    write_file("/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6", "0", nullptr);
}

}  // namespace

bool raise_interface_flags(int sock, const std::string& name, short flags, std::string* err) {
    ifreq ifr = request_for(name);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) return failure("cannot read flags", name, err);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | flags);
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) return failure("cannot bring up", name, err);
    return true;
}

bool set_interface_mtu(int sock, const std::string& name, unsigned mtu, std::string* err) {
    ifreq ifr = request_for(name);
    ifr.ifr_mtu = static_cast<int>(mtu);
    if (ioctl(sock, SIOCSIFMTU, &ifr) < 0) return failure("cannot set MTU", name, err);
    return true;
}

bool set_interface_mac(int sock, const std::string& name, const MacAddress& mac, std::string* err) {
    ifreq ifr = request_for(name);
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    std::memcpy(ifr.ifr_hwaddr.sa_data, mac.data(), mac.size());
    if (ioctl(sock, SIOCSIFHWADDR, &ifr) < 0) return failure("cannot set MAC address", name, err);
    return true;
}

bool set_interface_ipv4(int sock, const std::string& name, in_addr address, in_addr netmask,
                        std::string* err) {
    ifreq ifr = request_for(name);
    set_ipv4(&ifr.ifr_addr, address);
    if (ioctl(sock, SIOCSIFADDR, &ifr) < 0) return failure("cannot set address", name, err);
    ifr = request_for(name);
    set_ipv4(&ifr.ifr_netmask, netmask);
    if (ioctl(sock, SIOCSIFNETMASK, &ifr) < 0) return failure("cannot set netmask", name, err);
    return true;
}

bool configure_interface(const InterfaceSettings& s, std::string* err) {
    UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return fail(err, errno_text("cannot create configuration socket"));
    int fd = sock.get();
    constexpr short kUp = IFF_UP | IFF_RUNNING;
    if (!raise_interface_flags(fd, "lo", kUp, err) || !set_interface_mtu(fd, s.name, s.mtu, err))
        return false;
    if (s.mac && !set_interface_mac(fd, s.name, *s.mac, err)) return false;
    if (s.enable_ipv6) accept_router_advertisements(s.name);
    return set_interface_ipv4(fd, s.name, s.network.guest, s.network.netmask, err) &&
           raise_interface_flags(fd, s.name, kUp, err) && add_default_route(fd, s, err);
}
