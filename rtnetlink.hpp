// SPDX-License-Identifier: GPL-2.0-or-later
// rtnetlink.hpp owns talking rtnetlink (NETLINK_ROUTE) to the kernel of the
// namespace the caller is in: adding and deleting policy-routing rules and
// routes, each as one request answered by one acknowledgement. It knows
// nothing of why; transparent_routing.hpp decides what to ask for.
#pragma once

#include <linux/netlink.h>
#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "unique_fd.hpp"

// One rtnetlink request being built: a header, the family's header, then
// attributes, which may nest. Big enough for every request here (a u32
// filter with its keys and action is the largest).
class NetlinkMessage {
   public:
    NetlinkMessage(int type, int flags);
    nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buffer_); }
    // The family-specific header (fib_rule_hdr, rtmsg, ifinfomsg, tcmsg)
    // right after nlmsghdr.
    template <typename T>
    T* body() {
        header()->nlmsg_len = NLMSG_LENGTH(sizeof(T));
        return reinterpret_cast<T*>(NLMSG_DATA(header()));
    }
    void add(uint16_t type, const void* data, size_t length);
    void add_u32(uint16_t type, uint32_t value) { add(type, &value, sizeof value); }
    void add_string(uint16_t type, const std::string& value) {
        add(type, value.c_str(), value.size() + 1);
    }
    // Raw bytes after the last attribute (a nested family header).
    void append(const void* data, size_t length);
    // An attribute holding the attributes added until end_nest(offset).
    size_t begin_nest(uint16_t type);
    void end_nest(size_t offset);
    size_t length() { return header()->nlmsg_len; }

   private:
    alignas(nlmsghdr) char buffer_[1024] = {};
};

// An address of either family, without a port.
struct RouteAddress {
    int family = AF_INET;  // AF_INET or AF_INET6
    in_addr v4{};
    in6_addr v6{};
};

// `ip rule`: what a rule matches (zero fields match anything) and the table
// it sends matching packets to.
struct PolicyRule {
    int family = AF_INET;
    uint32_t priority = 0;
    uint32_t table = 0;
    uint32_t fwmark = 0;   // with mask 0xffffffff when non-zero
    uint8_t ip_proto = 0;  // IPPROTO_UDP, ...
    uint16_t sport = 0;
    uint16_t dport = 0;
    bool has_destination = false;  // a host route: /32 or /128
    RouteAddress destination;
};

// `ip route add local default dev IFINDEX [src PREFSRC] table TABLE`.
struct LocalDefaultRoute {
    int family = AF_INET;
    uint32_t table = 0;
    int ifindex = 0;
    bool has_source = false;
    RouteAddress source;
};

class Rtnetlink {
   public:
    bool open(std::string* err);
    int fd() const { return fd_.get(); }
    // Each returns 0 or the errno the kernel answered with (EEXIST for a
    // rule or route that is already there, ENOENT for one that is not).
    int add_rule(const PolicyRule& rule);
    int delete_rule(const PolicyRule& rule);
    int add_route(const LocalDefaultRoute& route);
    int replace_route(const LocalDefaultRoute& route);  // or add it
    int delete_route(const LocalDefaultRoute& route);
    // Any other request: 0 or the errno the kernel answered with; a get's
    // answer (the whole message) into *answer when given.
    int request(NetlinkMessage& message, std::vector<uint8_t>* answer = nullptr);

   private:
    int rule_request(int type, int flags, const PolicyRule& rule);
    int route_request(int type, int flags, const LocalDefaultRoute& route);
    int transact(void* message, size_t length, std::vector<uint8_t>* answer);

    UniqueFd fd_;
    uint32_t seq_ = 0;
};
