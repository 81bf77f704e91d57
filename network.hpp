// SPDX-License-Identifier: GPL-2.0-or-later
// network.hpp owns the virtual network's addressing: from one CIDR it derives
// every address libslirp and the guest interface use (gateway .2, DNS .3,
// DHCP from .15, recommended guest address .100), exactly as slirp4netns does;
// from one IPv6 /64 prefix the IPv6 gateway (::2) and DNS (::3).
#pragma once

#include <netinet/in.h>

#include <optional>
#include <string>

struct Network {
    in_addr address{};  // network address (host bits cleared)
    in_addr netmask{};
    unsigned prefix = 0;
    in_addr gateway{};
    in_addr dns{};
    in_addr dhcp_start{};
    in_addr guest{};  // the address --configure assigns and hostfwd defaults to
};

// IPv6: fd00::/64 unless --cidr names another prefix; gateway ::2, DNS ::3.
// Always a /64: the guest configures its address by SLAAC from libslirp's
// router advertisements, and SLAAC needs a /64.
struct Network6 {
    in6_addr prefix{};
    unsigned prefix_len = 64;
    in6_addr gateway{};
    in6_addr dns{};
};

Network default_network();
Network6 default_network6();

// Parses "A.B.C.D/N" with N in 1..25 (the DHCP range and .100 must fit).
bool parse_cidr(const std::string& text, Network* network, std::string* err);
// Whether a --cidr value names an IPv6 prefix (its address part has a ':').
bool cidr_is_ipv6(const std::string& text);
// Parses "PREFIX::/64": a unicast prefix, not link-local, not within ::/64
// (loopback, IPv4-mapped), no host bits. Every refusal says "invalid CIDR".
bool parse_cidr6(const std::string& text, Network6* network, std::string* err);

std::string ipv4_to_string(in_addr addr);
std::string ipv6_to_string(const in6_addr& addr);
