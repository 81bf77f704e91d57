// SPDX-License-Identifier: GPL-2.0-or-later
// network.hpp owns the virtual network's addressing: from one CIDR it derives
// every address libslirp and the guest interface use (gateway .2, DNS .3,
// DHCP from .15, recommended guest address .100), exactly as slirp4netns does.
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

// IPv6 addressing is fixed, as in slirp4netns: fd00::/64, host ::2, DNS ::3.
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

std::string ipv4_to_string(in_addr addr);
std::string ipv6_to_string(const in6_addr& addr);
