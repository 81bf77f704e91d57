// SPDX-License-Identifier: GPL-2.0-or-later
// rtnetlink.cpp: rule and route requests over NETLINK_ROUTE (see rtnetlink.hpp).
#include "rtnetlink.hpp"

#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"

namespace {

void add_address(NetlinkMessage& m, uint16_t type, const RouteAddress& a) {
    if (a.family == AF_INET)
        m.add(type, &a.v4, sizeof a.v4);
    else
        m.add(type, &a.v6, sizeof a.v6);
}

uint8_t host_prefix(int family) {
    return family == AF_INET ? 32 : 128;
}

}  // namespace

NetlinkMessage::NetlinkMessage(int type, int flags) {
    header()->nlmsg_len = NLMSG_LENGTH(0);
    header()->nlmsg_type = static_cast<uint16_t>(type);
    header()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
}

void NetlinkMessage::add(uint16_t type, const void* data, size_t length) {
    auto* attr = reinterpret_cast<rtattr*>(buffer_ + NLMSG_ALIGN(header()->nlmsg_len));
    attr->rta_type = type;
    attr->rta_len = static_cast<uint16_t>(RTA_LENGTH(length));
    if (length) std::memcpy(RTA_DATA(attr), data, length);
    header()->nlmsg_len = NLMSG_ALIGN(header()->nlmsg_len) + RTA_ALIGN(attr->rta_len);
}

void NetlinkMessage::append(const void* data, size_t length) {
    std::memcpy(buffer_ + NLMSG_ALIGN(header()->nlmsg_len), data, length);
    header()->nlmsg_len = NLMSG_ALIGN(header()->nlmsg_len) + static_cast<uint32_t>(length);
}

size_t NetlinkMessage::begin_nest(uint16_t type) {
    size_t offset = NLMSG_ALIGN(header()->nlmsg_len);
    add(type, nullptr, 0);
    return offset;
}

void NetlinkMessage::end_nest(size_t offset) {
    auto* attr = reinterpret_cast<rtattr*>(buffer_ + offset);
    attr->rta_len = static_cast<uint16_t>(header()->nlmsg_len - offset);
}

bool Rtnetlink::open(std::string* err) {
    fd_.reset(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd_) return fail(err, errno_text("cannot open an rtnetlink socket"));
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (bind(fd_.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) < 0) {
        std::string why = errno_text("cannot bind an rtnetlink socket");
        fd_.reset();
        return fail(err, why);
    }
    return true;
}

int Rtnetlink::add_rule(const PolicyRule& rule) {
    return rule_request(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, rule);
}

int Rtnetlink::delete_rule(const PolicyRule& rule) {
    return rule_request(RTM_DELRULE, 0, rule);
}

int Rtnetlink::add_route(const LocalDefaultRoute& route) {
    return route_request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, route);
}

int Rtnetlink::replace_route(const LocalDefaultRoute& route) {
    return route_request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, route);
}

int Rtnetlink::delete_route(const LocalDefaultRoute& route) {
    return route_request(RTM_DELROUTE, 0, route);
}

int Rtnetlink::rule_request(int type, int flags, const PolicyRule& rule) {
    NetlinkMessage m(type, flags);
    auto* frh = m.body<fib_rule_hdr>();
    frh->family = static_cast<uint8_t>(rule.family);
    frh->action = FR_ACT_TO_TBL;
    frh->table = RT_TABLE_UNSPEC;  // the table goes in FRA_TABLE: ours is above 255
    if (rule.priority) m.add_u32(FRA_PRIORITY, rule.priority);
    if (rule.table) m.add_u32(FRA_TABLE, rule.table);
    if (rule.fwmark) {
        m.add_u32(FRA_FWMARK, rule.fwmark);
        m.add_u32(FRA_FWMASK, 0xffffffff);
    }
    if (rule.ip_proto) m.add(FRA_IP_PROTO, &rule.ip_proto, sizeof rule.ip_proto);
    if (rule.sport) {
        fib_rule_port_range range{rule.sport, rule.sport};
        m.add(FRA_SPORT_RANGE, &range, sizeof range);
    }
    if (rule.dport) {
        fib_rule_port_range range{rule.dport, rule.dport};
        m.add(FRA_DPORT_RANGE, &range, sizeof range);
    }
    if (rule.has_destination) {
        frh->dst_len = host_prefix(rule.family);
        add_address(m, FRA_DST, rule.destination);
    }
    return request(m);
}

int Rtnetlink::route_request(int type, int flags, const LocalDefaultRoute& route) {
    NetlinkMessage m(type, flags);
    auto* rtm = m.body<rtmsg>();
    rtm->rtm_family = static_cast<uint8_t>(route.family);
    rtm->rtm_dst_len = 0;  // default
    rtm->rtm_table = RT_TABLE_UNSPEC;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = RT_SCOPE_HOST;
    rtm->rtm_type = RTN_LOCAL;
    m.add_u32(RTA_TABLE, route.table);
    m.add_u32(RTA_OIF, static_cast<uint32_t>(route.ifindex));
    if (route.has_source) add_address(m, RTA_PREFSRC, route.source);
    return request(m);
}

int Rtnetlink::request(NetlinkMessage& m, std::vector<uint8_t>* answer) {
    m.header()->nlmsg_seq = ++seq_;
    return transact(m.header(), m.length(), answer);
}

int Rtnetlink::transact(void* message, size_t length, std::vector<uint8_t>* answer) {
    if (!fd_) return EBADF;
    auto* request = static_cast<nlmsghdr*>(message);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    ssize_t sent;
    do {
        sent = sendto(fd_.get(), message, length, 0, reinterpret_cast<const sockaddr*>(&kernel),
                      sizeof kernel);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) return errno;
    // The acknowledgement echoes our header (and on error our request, which
    // is small): a page is plenty.
    alignas(nlmsghdr) char reply[4096];
    for (;;) {
        ssize_t n = recv(fd_.get(), reply, sizeof reply, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        int left = static_cast<int>(n);
// NLMSG_OK compares the header's unsigned length with the int it is given:
// clang's -Wsign-compare (in the fuzz build) flags the macro itself.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
        for (auto* h = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != request->nlmsg_seq) continue;
            if (h->nlmsg_type != NLMSG_ERROR) {
                // A get's answer comes ahead of the acknowledgement.
                if (answer && answer->empty()) {
                    const auto* p = reinterpret_cast<const uint8_t*>(h);
                    answer->assign(p, p + h->nlmsg_len);
                }
                continue;
            }
            const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
            return -e->error;
        }
#pragma GCC diagnostic pop
    }
}
