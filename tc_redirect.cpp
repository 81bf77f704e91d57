// SPDX-License-Identifier: GPL-2.0-or-later
// tc_redirect.cpp: the kernel-to-kernel delivery's qdiscs, filters and veth
// (see tc_redirect.hpp).
#include "tc_redirect.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <linux/veth.h>
#include <net/if.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "error.hpp"
#include "wire.hpp"

namespace {

// Priorities: lower runs first. Far from 1.. (where people put theirs) and
// from 49152 (where tc numbers filters given none).
constexpr uint16_t kSynPriority4 = 20001;
constexpr uint16_t kSynPriority6 = 20002;
constexpr uint16_t kExclusionPriority = 20003;  // two per slot: IPv4, IPv6
constexpr uint16_t kRedirectPriority4 = 20101;  // .. +3
constexpr uint16_t kRedirectPriority6 = 20111;  // .. +3
constexpr uint16_t kUdpPriority4 = 20121;
constexpr uint16_t kUdpPriority6 = 20122;

// A clsact qdisc we made carries one filter at kMarkPriority in a chain
// nothing jumps to, so it never runs: a successor that finds it (both of
// us killed) knows the qdisc was ours, not the user's, and removes it.
constexpr uint32_t kMarkChain = 20000;
constexpr uint16_t kMarkPriority = 20000;

constexpr uint32_t kPassClass = 0x10001;  // any class: it only ends classification
constexpr uint32_t kTcpProtocol = 6;

// u32 compares whole 32-bit words: a byte or a half-word is one shifted
// into its word under a mask.
U32Key byte_at(int offset, uint8_t value, uint8_t mask) {
    int shift = 8 * (3 - (offset & 3));
    return {uint32_t{value} << shift, uint32_t{mask} << shift, offset & ~3};
}
U32Key half_at(int offset, uint16_t value, uint16_t mask) {
    int shift = 16 * (1 - ((offset & 3) >> 1));
    return {uint32_t{value} << shift, uint32_t{mask} << shift, offset & ~3};
}
U32Key word_at(int offset, const void* network_order, uint32_t mask = 0xffffffff) {
    uint32_t v;
    std::memcpy(&v, network_order, 4);
    return {ntohl(v) & mask, mask, offset};
}

// IPv4 with a 20-byte header, TCP, not a fragment: the TCP header is at 20.
std::vector<U32Key> tcp4() {
    return {byte_at(0, 0x45, 0xff), byte_at(9, kTcpProtocol, 0xff), half_at(6, 0, 0x3fff)};
}
// IPv6 with TCP as the first next header: the TCP header is at 40.
std::vector<U32Key> tcp6() {
    return {byte_at(6, kTcpProtocol, 0xff)};
}

void add_in_network4(std::vector<U32Key>* keys, int offset, const RedirectScope& s) {
    keys->push_back(word_at(offset, &s.network, ntohl(s.netmask.s_addr)));
}
void add_in_prefix6(std::vector<U32Key>* keys, int offset, const RedirectScope& s) {
    keys->push_back(word_at(offset, &s.prefix6.s6_addr[0]));
    keys->push_back(word_at(offset + 4, &s.prefix6.s6_addr[4]));
}
void add_equal4(std::vector<U32Key>* keys, int offset, const in_addr& a) {
    keys->push_back(word_at(offset, &a));
}
void add_equal6(std::vector<U32Key>* keys, int offset, const in6_addr& a) {
    for (int i = 0; i < 16; i += 4) keys->push_back(word_at(offset + i, &a.s6_addr[i]));
}

// A SYN without ACK (or RST): the flags byte is 13 into the TCP header.
U32Key syn_only(int tcp) {
    return byte_at(tcp + 13, 0x02, 0x16);
}

RedirectFilter filter(uint16_t priority, uint16_t protocol, std::vector<U32Key> keys,
                      bool redirect) {
    return {priority, protocol, std::move(keys), redirect, 0};
}

std::vector<U32Key> plus(std::vector<U32Key> keys, std::initializer_list<U32Key> more) {
    keys.insert(keys.end(), more);
    return keys;
}

tcmsg* tc_header(NetlinkMessage& m, int ifindex, uint32_t parent, uint32_t info) {
    auto* t = m.body<tcmsg>();
    t->tcm_family = AF_UNSPEC;
    t->tcm_ifindex = ifindex;
    t->tcm_parent = parent;
    t->tcm_info = info;
    return t;
}

int clsact(Rtnetlink& nl, int type, int flags, int ifindex) {
    NetlinkMessage m(type, flags);
    tcmsg* t = tc_header(m, ifindex, TC_H_CLSACT, 0);
    t->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
    m.add_string(TCA_KIND, "clsact");
    return nl.request(m);
}

// The kind of the qdisc in the ingress/clsact place ("clsact", "ingress"),
// empty when none could be read.
std::string ingress_qdisc_kind(Rtnetlink& nl, int ifindex) {
    // The answer goes to the asker only when asked to be echoed.
    NetlinkMessage m(RTM_GETQDISC, NLM_F_ECHO);
    tc_header(m, ifindex, TC_H_INGRESS, 0);
    std::vector<uint8_t> answer;
    if (nl.request(m, &answer) != 0 || answer.size() < NLMSG_LENGTH(sizeof(tcmsg))) return "";
    const auto* h = reinterpret_cast<const nlmsghdr*>(answer.data());
    int left = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(tcmsg)));
    const auto* a = reinterpret_cast<const rtattr*>(answer.data() + NLMSG_LENGTH(sizeof(tcmsg)));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
    for (; RTA_OK(a, left); a = RTA_NEXT(a, left))
        if (a->rta_type == TCA_KIND)
            return std::string(static_cast<const char*>(RTA_DATA(a)),
                               strnlen(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a)));
#pragma GCC diagnostic pop
    return "";
}

uint32_t clsact_side(bool egress) {
    return TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
}

// A u32 filter; a redirecting one runs mirred to target (egress: out of
// it; ingress: into it, as if received there).
int add_filter(Rtnetlink& nl, int ifindex, bool egress, const RedirectFilter& f, int target,
               bool into_target) {
    NetlinkMessage m(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL);
    tc_header(m, ifindex, clsact_side(egress),
              TC_H_MAKE(uint32_t{f.priority} << 16, htons(f.protocol)));
    if (f.chain != 0) m.add_u32(TCA_CHAIN, f.chain);
    m.add_string(TCA_KIND, "u32");
    size_t options = m.begin_nest(TCA_OPTIONS);
    // TERMINAL: a match ends classification, with the class (the frame
    // goes on) or the action's verdict.
    std::vector<uint8_t> sel(sizeof(tc_u32_sel) + f.keys.size() * sizeof(tc_u32_key));
    auto* s = reinterpret_cast<tc_u32_sel*>(sel.data());
    s->flags = TC_U32_TERMINAL;
    s->nkeys = static_cast<unsigned char>(f.keys.size());
    for (size_t i = 0; i < f.keys.size(); i++) {
        s->keys[i].val = htonl(f.keys[i].value & f.keys[i].mask);
        s->keys[i].mask = htonl(f.keys[i].mask);
        s->keys[i].off = f.keys[i].offset;
    }
    m.add(TCA_U32_SEL, sel.data(), sel.size());
    if (!f.redirect) {
        m.add_u32(TCA_U32_CLASSID, kPassClass);
    } else {
        size_t actions = m.begin_nest(TCA_U32_ACT);
        size_t first = m.begin_nest(1);
        m.add_string(TCA_ACT_KIND, "mirred");
        size_t act_options = m.begin_nest(TCA_ACT_OPTIONS);
        tc_mirred parms{};
        parms.action = TC_ACT_STOLEN;
        parms.eaction = into_target ? TCA_INGRESS_REDIR : TCA_EGRESS_REDIR;
        parms.ifindex = static_cast<uint32_t>(target);
        m.add(TCA_MIRRED_PARMS, &parms, sizeof parms);
        m.end_nest(act_options);
        m.end_nest(first);
        m.end_nest(actions);
    }
    m.end_nest(options);
    return nl.request(m);
}

int delete_priority(Rtnetlink& nl, int ifindex, bool egress, uint16_t priority,
                    uint32_t chain = 0) {
    NetlinkMessage m(RTM_DELTFILTER, 0);
    tc_header(m, ifindex, clsact_side(egress), TC_H_MAKE(uint32_t{priority} << 16, 0));
    if (chain != 0) m.add_u32(TCA_CHAIN, chain);
    return nl.request(m);
}

int delete_link(Rtnetlink& nl, int ifindex) {
    NetlinkMessage m(RTM_DELLINK, 0);
    m.body<ifinfomsg>()->ifi_index = ifindex;
    return nl.request(m);
}

int move_link(Rtnetlink& nl, int ifindex, int netns_fd) {
    NetlinkMessage m(RTM_NEWLINK, 0);
    m.body<ifinfomsg>()->ifi_index = ifindex;
    m.add_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
    return nl.request(m);
}

// A veth pair, both ends with the MTU and, given one, the MAC.
bool make_veth(Rtnetlink& nl, const std::string& name, const std::string& peer_name, unsigned mtu,
               const std::array<uint8_t, 6>* mac, int* index, int* peer_index, std::string* err) {
    NetlinkMessage m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.body<ifinfomsg>();
    m.add_string(IFLA_IFNAME, name);
    m.add_u32(IFLA_MTU, mtu);
    if (mac) m.add(IFLA_ADDRESS, mac->data(), mac->size());
    size_t linkinfo = m.begin_nest(IFLA_LINKINFO);
    m.add_string(IFLA_INFO_KIND, "veth");
    size_t data = m.begin_nest(IFLA_INFO_DATA);
    size_t peer = m.begin_nest(VETH_INFO_PEER);
    ifinfomsg peer_header{};
    m.append(&peer_header, sizeof peer_header);
    m.add_string(IFLA_IFNAME, peer_name);
    m.add_u32(IFLA_MTU, mtu);
    if (mac) m.add(IFLA_ADDRESS, mac->data(), mac->size());
    m.end_nest(peer);
    m.end_nest(data);
    m.end_nest(linkinfo);
    if (int e = nl.request(m); e != 0)
        return fail(err, errno_text("cannot create the veth " + name, e));
    *index = static_cast<int>(if_nametoindex(name.c_str()));
    *peer_index = static_cast<int>(if_nametoindex(peer_name.c_str()));
    if (*index <= 0 || *peer_index <= 0) return fail(err, "the veth " + name + " vanished");
    return true;
}

// "s4n-" or "s4u-" and the tap's name; one too long for an interface name
// is cut and ends in a hash of the whole.
std::string veth_name(const char* prefix, const std::string& tap) {
    std::string name = prefix + tap;
    if (name.size() < IFNAMSIZ) return name;
    // Cut, two long names would meet: the end says which tap it was.
    uint32_t hash = 2166136261u;  // FNV-1a
    for (unsigned char c : tap) hash = (hash ^ c) * 16777619u;
    char tail[6];
    snprintf(tail, sizeof tail, "-%04x", hash & 0xffff);
    return name.substr(0, IFNAMSIZ - 1 - 5) + tail;
}

}  // namespace

std::vector<RedirectFilter> guest_egress_filters(const RedirectScope& s) {
    std::vector<RedirectFilter> out;
    out.push_back(filter(kSynPriority4, ETH_P_IP, plus(tcp4(), {syn_only(20)}), false));
    if (s.ipv6)
        out.push_back(filter(kSynPriority6, ETH_P_IPV6, plus(tcp6(), {syn_only(40)}), false));
    // IPv4: from the guest's network to the gateway, redirected; to the rest
    // of the network (the DNS address's streams among it: libslirp gives
    // that address a MAC of its own, which the veth does not carry), on; to
    // anywhere else, redirected.
    std::vector<U32Key> from_guest = tcp4();
    add_in_network4(&from_guest, 12, s);
    if (s.host_loopback) {
        std::vector<U32Key> keys = from_guest;
        add_equal4(&keys, 16, s.gateway);
        out.push_back(filter(kRedirectPriority4, ETH_P_IP, keys, true));
    }
    std::vector<U32Key> in_network = tcp4();
    add_in_network4(&in_network, 16, s);
    out.push_back(filter(kRedirectPriority4 + 2, ETH_P_IP, in_network, false));
    out.push_back(filter(kRedirectPriority4 + 3, ETH_P_IP, from_guest, true));
    if (!s.ipv6) return out;
    std::vector<U32Key> from_guest6 = tcp6();
    add_in_prefix6(&from_guest6, 8, s);
    if (s.host_loopback) {
        std::vector<U32Key> keys = from_guest6;
        add_equal6(&keys, 24, s.gateway6);
        out.push_back(filter(kRedirectPriority6, ETH_P_IPV6, keys, true));
    }
    std::vector<U32Key> in_prefix = tcp6();
    add_in_prefix6(&in_prefix, 24, s);
    out.push_back(filter(kRedirectPriority6 + 2, ETH_P_IPV6, in_prefix, false));
    out.push_back(filter(kRedirectPriority6 + 3, ETH_P_IPV6, from_guest6, true));
    return out;
}

std::vector<RedirectFilter> exclusion_filters(const RedirectScope& s, int slot,
                                              uint16_t guest_port) {
    auto priority = static_cast<uint16_t>(kExclusionPriority + 2 * slot);
    std::vector<RedirectFilter> out;
    out.push_back(
        filter(priority, ETH_P_IP, plus(tcp4(), {half_at(20, guest_port, 0xffff)}), false));
    if (s.ipv6)
        out.push_back(filter(priority + 1, ETH_P_IPV6,
                             plus(tcp6(), {half_at(40, guest_port, 0xffff)}), false));
    return out;
}

RedirectFilter made_qdisc_mark() {
    // Two keys no frame meets at once: it could not match even if it ran.
    RedirectFilter mark =
        filter(kMarkPriority, ETH_P_IP, {{0, 0xffffffff, 0}, {1, 0xffffffff, 0}}, false);
    mark.chain = kMarkChain;
    return mark;
}

std::vector<uint16_t> redirect_priorities() {
    std::vector<uint16_t> p{kSynPriority4, kSynPriority6};
    for (int i = 0; i < 2 * kExclusionSlots; i++) p.push_back(kExclusionPriority + i);
    for (int i = 0; i < 4; i++) {
        p.push_back(kRedirectPriority4 + i);
        p.push_back(kRedirectPriority6 + i);
    }
    p.push_back(kUdpPriority4);
    p.push_back(kUdpPriority6);
    return p;
}

std::string redirect_veth_name(const std::string& tap) {
    return veth_name("s4n-", tap);
}

std::string udp_veth_name(const std::string& tap) {
    return veth_name("s4u-", tap);
}

std::vector<RedirectFilter> guest_udp_filters(const RedirectScope& s) {
    // Under 2 KiB (the length's top five bits clear): every such packet
    // fits one slot of the ring (frame_ring.hpp). Fragments go too, all of
    // a datagram's the same way or not: reassembly is the daemon's either
    // way.
    std::vector<U32Key> keys{byte_at(9, kProtoUdp, 0xff), half_at(2, 0, 0xf800)};
    add_in_network4(&keys, 12, s);
    std::vector<RedirectFilter> out{filter(kUdpPriority4, ETH_P_IP, keys, true)};
    if (!s.ipv6) return out;
    std::vector<U32Key> keys6{byte_at(6, kProtoUdp, 0xff), half_at(4, 0, 0xf800)};
    add_in_prefix6(&keys6, 8, s);
    out.push_back(filter(kUdpPriority6, ETH_P_IPV6, keys6, true));
    return out;
}

void TcRedirect::remove_leftovers(Rtnetlink& nl, const std::string& tap) {
    int tap_index = static_cast<int>(if_nametoindex(tap.c_str()));
    // EINVAL: the tap has no clsact qdisc, so no filters of anyone's.
    if (tap_index > 0)
        for (uint16_t p : redirect_priorities())
            if (delete_priority(nl, tap_index, true, p) == EINVAL) break;
    if (tap_index > 0 && delete_priority(nl, tap_index, true, kMarkPriority, kMarkChain) == 0)
        clsact(nl, RTM_DELQDISC, 0, tap_index);
    for (const std::string& name : {redirect_veth_name(tap), udp_veth_name(tap)})
        if (int veth = static_cast<int>(if_nametoindex(name.c_str())); veth > 0)
            delete_link(nl, veth);
}

bool TcRedirect::create_veth(Rtnetlink& nl, const std::string& tap, const std::string& peer_name,
                             unsigned mtu, const std::array<uint8_t, 6>& mac, std::string* err) {
    tap_index_ = static_cast<int>(if_nametoindex(tap.c_str()));
    if (tap_index_ <= 0) return fail(err, errno_text("cannot find the tap " + tap));
    return make_veth(nl, redirect_veth_name(tap), peer_name, mtu, &mac, &veth_index_, &peer_index_,
                     err);
}

bool TcRedirect::create_udp_veth(Rtnetlink& nl, const std::string& tap,
                                 const std::string& peer_name, unsigned mtu, std::string* err) {
    return make_veth(nl, udp_veth_name(tap), peer_name, mtu, nullptr, &udp_veth_index_,
                     &udp_peer_index_, err);
}

bool TcRedirect::move_udp_peer(Rtnetlink& nl, int netns_fd, std::string* err) {
    if (int e = move_link(nl, udp_peer_index_, netns_fd); e != 0)
        return fail(err, errno_text("cannot move the UDP veth's peer into the TCP namespace", e));
    return true;
}

void TcRedirect::remove_udp(Rtnetlink& nl) {
    uninstall_udp(nl);
    if (udp_veth_index_ > 0)
        delete_link(nl, udp_veth_index_);
    else if (udp_peer_index_ > 0)
        delete_link(nl, udp_peer_index_);
    udp_veth_index_ = udp_peer_index_ = 0;
}

int TcRedirect::install_udp(Rtnetlink& nl, const RedirectScope& scope) {
    if (tap_index_ <= 0 || udp_veth_index_ <= 0) return ENODEV;
    for (const RedirectFilter& f : guest_udp_filters(scope))
        if (int e = add_filter(nl, tap_index_, true, f, udp_veth_index_, false); e != 0) {
            uninstall_udp(nl);
            return e;
        }
    return 0;
}

void TcRedirect::uninstall_udp(Rtnetlink& nl) {
    if (tap_index_ > 0)
        for (uint16_t p : {kUdpPriority4, kUdpPriority6}) delete_priority(nl, tap_index_, true, p);
}

bool TcRedirect::move_peer(Rtnetlink& nl, int netns_fd, std::string* err) {
    if (int e = move_link(nl, peer_index_, netns_fd); e != 0)
        return fail(err, errno_text("cannot move the veth's peer into the TCP namespace", e));
    return true;
}

bool TcRedirect::install(Rtnetlink& nl, const RedirectScope& scope, std::string* err) {
    // An existing clsact (a predecessor's, emptied of our filters, or
    // someone else's) serves; another qdisc in its place (an ingress one,
    // whose one block would take "egress" filters too) keeps us out.
    int e = clsact(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, tap_index_);
    if (e != 0 && e != EEXIST)
        return fail(err, errno_text("cannot add a clsact qdisc to the tap", e));
    if (e == EEXIST) {
        std::string kind = ingress_qdisc_kind(nl, tap_index_);
        if (kind != "clsact")
            return fail(err, "the tap has an " + (kind.empty() ? std::string("unknown") : kind) +
                                 " qdisc where a clsact one would go");
    }
    made_qdisc_ = e == 0;
    // Without the mark (a kernel without chains) all still works; only a
    // successor after both of us were killed would leave the qdisc.
    if (made_qdisc_) add_filter(nl, tap_index_, true, made_qdisc_mark(), 0, false);
    if ((e = clsact(nl, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, veth_index_)) != 0)
        return fail(err, errno_text("cannot add a clsact qdisc to the veth", e));
    // The way back first, so that nothing the private kernel answers is lost.
    for (uint16_t protocol : {ETH_P_IP, ETH_P_IPV6}) {
        RedirectFilter back = filter(
            protocol == ETH_P_IP ? kSynPriority4 : kSynPriority6, protocol,
            protocol == ETH_P_IP ? std::vector<U32Key>{byte_at(9, kTcpProtocol, 0xff)} : tcp6(),
            true);
        if ((e = add_filter(nl, veth_index_, false, back, tap_index_, true)) != 0)
            return fail(err, errno_text("cannot add the veth's redirect filter", e));
    }
    for (const RedirectFilter& f : guest_egress_filters(scope))
        if ((e = add_filter(nl, tap_index_, true, f, veth_index_, false)) != 0)
            return fail(err, errno_text("cannot add a u32 filter with mirred to the tap", e));
    return true;
}

int TcRedirect::exclude(Rtnetlink& nl, const RedirectScope& scope, uint16_t guest_port) {
    int slot = -1;
    for (int i = 0; i < kExclusionSlots; i++) {
        if (excluded_[i] == guest_port) return 0;
        if (slot < 0 && excluded_[i] == 0) slot = i;
    }
    if (slot < 0) return ENOSPC;
    for (const RedirectFilter& f : exclusion_filters(scope, slot, guest_port))
        if (int e = add_filter(nl, tap_index_, true, f, 0, false); e != 0) {
            delete_priority(nl, tap_index_, true,
                            static_cast<uint16_t>(kExclusionPriority + 2 * slot));
            return e;
        }
    excluded_[slot] = guest_port;
    return 0;
}

int TcRedirect::include(Rtnetlink& nl, uint16_t guest_port) {
    for (int i = 0; i < kExclusionSlots; i++) {
        if (excluded_[i] != guest_port) continue;
        excluded_[i] = 0;
        delete_priority(nl, tap_index_, true, static_cast<uint16_t>(kExclusionPriority + 2 * i));
        delete_priority(nl, tap_index_, true,
                        static_cast<uint16_t>(kExclusionPriority + 2 * i + 1));
        return 0;
    }
    return ENOENT;
}

void TcRedirect::remove(Rtnetlink& nl) {
    if (tap_index_ > 0) {
        for (uint16_t p : redirect_priorities()) delete_priority(nl, tap_index_, true, p);
        if (made_qdisc_) clsact(nl, RTM_DELQDISC, 0, tap_index_);
    }
    remove_udp(nl);
    // The peer, and the veth's qdisc, go with it.
    if (veth_index_ > 0)
        delete_link(nl, veth_index_);
    else if (peer_index_ > 0)
        delete_link(nl, peer_index_);
    tap_index_ = veth_index_ = peer_index_ = 0;
    made_qdisc_ = false;
}
