// SPDX-License-Identifier: GPL-2.0-or-later
// network.cpp derives the virtual network's addresses from a CIDR.
#include "network.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>

#include "error.hpp"

namespace {

in_addr host_number(in_addr network, uint32_t n) {
    in_addr out{};
    out.s_addr = htonl(ntohl(network.s_addr) + n);
    return out;
}

Network derive(in_addr any_address, unsigned prefix) {
    Network net;
    uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
    net.prefix = prefix;
    net.netmask.s_addr = htonl(mask);
    net.address.s_addr = htonl(ntohl(any_address.s_addr) & mask);
    net.gateway = host_number(net.address, 2);
    net.dns = host_number(net.address, 3);
    net.dhcp_start = host_number(net.address, 15);
    net.guest = host_number(net.address, 100);
    return net;
}

in6_addr host_number6(const in6_addr& prefix, uint8_t n) {
    in6_addr out = prefix;
    out.s6_addr[15] = n;
    return out;
}

Network6 derive6(const in6_addr& prefix) {
    Network6 net;
    net.prefix = prefix;
    net.prefix_len = 64;
    net.gateway = host_number6(prefix, 2);
    net.dns = host_number6(prefix, 3);
    return net;
}

}  // namespace

Network default_network() {
    in_addr base{};
    inet_pton(AF_INET, "10.0.2.0", &base);
    return derive(base, 24);
}

Network6 default_network6() {
    in6_addr base{};
    inet_pton(AF_INET6, "fd00::", &base);
    return derive6(base);
}

// Refuses what slirp4netns 1.2.0 refuses, with its key phrases: "invalid
// CIDR" for the shape, "invalid network address", "prefix length needs to
// be 1-25" and, for host bits, "CIDR needs to be a network address".
bool parse_cidr(const std::string& text, Network* network, std::string* err) {
    auto invalid = [&](const std::string& why) {
        return fail(err, "invalid CIDR \"" + text + "\": " + why);
    };
    auto slash = text.find('/');
    if (slash == std::string::npos) return invalid("expected ADDRESS/PREFIX, e.g. 10.0.2.0/24");
    std::string address_text = text.substr(0, slash);
    std::string prefix_text = text.substr(slash + 1);
    in_addr address{};
    if (inet_pton(AF_INET, address_text.c_str(), &address) != 1)
        return invalid("invalid network address \"" + address_text + "\"");
    if (prefix_text.empty() || prefix_text.size() > 2 ||
        prefix_text.find_first_not_of("0123456789") != std::string::npos)
        return invalid("prefix length must be a number of one or two digits");
    auto prefix = static_cast<unsigned>(std::strtoul(prefix_text.c_str(), nullptr, 10));
    if (prefix < 1 || prefix > 25) return invalid("prefix length needs to be 1-25");
    Network net = derive(address, prefix);
    if (net.address.s_addr != address.s_addr)
        return fail(err,
                    "CIDR needs to be a network address like 10.0.2.0/24, not like "
                    "10.0.2.100/24: \"" +
                        text + "\" has host bits set (the network is " +
                        ipv4_to_string(net.address) + "/" + std::to_string(prefix) + ")");
    *network = net;
    return true;
}

bool cidr_is_ipv6(const std::string& text) {
    return text.substr(0, text.find('/')).find(':') != std::string::npos;
}

// The original refuses every IPv6 prefix with "invalid CIDR"; ours keeps
// that phrase for the ones it refuses, so that scripts matching it still do.
bool parse_cidr6(const std::string& text, Network6* network, std::string* err) {
    auto invalid = [&](const std::string& why) {
        return fail(err, "invalid CIDR \"" + text + "\": " + why);
    };
    auto slash = text.find('/');
    if (slash == std::string::npos)
        return invalid("expected PREFIX/64, e.g. fd00::/64 (and --enable-ipv6)");
    std::string address_text = text.substr(0, slash);
    std::string prefix_text = text.substr(slash + 1);
    in6_addr address{};
    if (inet_pton(AF_INET6, address_text.c_str(), &address) != 1)
        return invalid("invalid IPv6 prefix \"" + address_text + "\"");
    if (prefix_text.empty() || prefix_text.size() > 3 ||
        prefix_text.find_first_not_of("0123456789") != std::string::npos)
        return invalid("prefix length must be a number of one to three digits");
    if (prefix_text != "64")
        return invalid(
            "an IPv6 prefix must be a /64 (the guest takes its address by SLAAC, "
            "which needs /64)");
    const uint8_t* a = address.s6_addr;
    if (a[0] == 0xff) return invalid("a multicast prefix cannot be a network");
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return invalid("a link-local prefix cannot be a network (the guest has its own)");
    bool zero_prefix = true;
    for (int i = 0; i < 8; i++) zero_prefix = zero_prefix && a[i] == 0;
    if (zero_prefix)
        return invalid("::/64 holds the loopback and IPv4-mapped addresses, not a network");
    for (int i = 8; i < 16; i++)
        if (a[i] != 0) {
            in6_addr network_part = address;
            std::fill(network_part.s6_addr + 8, network_part.s6_addr + 16, 0);
            return invalid("host bits are set (the prefix is " + ipv6_to_string(network_part) +
                           "/64)");
        }
    *network = derive6(address);
    return true;
}

std::string ipv4_to_string(in_addr addr) {
    char buf[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &addr, buf, sizeof buf);
    return buf;
}

std::string ipv6_to_string(const in6_addr& addr) {
    char buf[INET6_ADDRSTRLEN] = "";
    inet_ntop(AF_INET6, &addr, buf, sizeof buf);
    return buf;
}
