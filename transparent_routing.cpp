// SPDX-License-Identifier: GPL-2.0-or-later
// transparent_routing.cpp: the namespace's rules, routes and sysctl for
// transparent splice forwards (see transparent_routing.hpp).
#include "transparent_routing.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "error.hpp"

namespace {

constexpr const char* kFwmarkAccept = "/proc/sys/net/ipv4/tcp_fwmark_accept";
// Abstract socket names (per network namespace): one lock held while the
// shared part is set up or torn down, and one slot per daemon using it.
constexpr const char* kLockName = "slirp4netns-transparent-routing-lock";
constexpr const char* kSlotPrefix = "slirp4netns-transparent-routing-user-";
constexpr int kSlots = 64;
// The lock is held for a few netlink round trips; a holder that dies frees it.
constexpr int kLockTries = 200;
constexpr int kLockWaitMs = 10;
// Deleting leftovers one rule at a time: a bound on a namespace full of them.
constexpr int kMaxLeftoverRules = 100000;

// Binds a datagram socket to an abstract name; invalid when it is taken.
UniqueFd bind_abstract(const std::string& name) {
    UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return fd;
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), len) < 0) fd.reset();
    return fd;
}

// Waits for the lock; after kLockTries it goes ahead anyway: a holder that
// slow is wedged, and the work under the lock tolerates a race.
UniqueFd take_lock() {
    for (int i = 0; i < kLockTries; i++) {
        UniqueFd lock = bind_abstract(kLockName);
        if (lock) return lock;
        poll(nullptr, 0, kLockWaitMs);
    }
    return UniqueFd();
}

std::string ipv4_text(in_addr a) {
    char text[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &a, text, sizeof text);
    return text;
}

RouteAddress ipv4(in_addr a) {
    RouteAddress r;
    r.family = AF_INET;
    r.v4 = a;
    return r;
}

// A rule of ours: it leads to our table.
PolicyRule rule_to_our_table(int family, uint32_t priority) {
    PolicyRule r;
    r.family = family;
    r.priority = priority;
    r.table = kTransparentTable;
    return r;
}

PolicyRule mark_rule(int family) {
    PolicyRule r = rule_to_our_table(family, kMarkRulePriority);
    r.fwmark = kTransparentMark;
    return r;
}

// Matches every flow rule of ours, whatever its ports and client.
PolicyRule any_flow_rule(int family) {
    return rule_to_our_table(family, kFlowRulePriority);
}

PolicyRule flow_rule(const sockaddr_storage& client, uint16_t guest_port) {
    PolicyRule r = any_flow_rule(client.ss_family);
    r.ip_proto = IPPROTO_UDP;
    r.sport = guest_port;
    r.has_destination = true;
    r.destination.family = client.ss_family;
    if (client.ss_family == AF_INET) {
        const auto& sin = reinterpret_cast<const sockaddr_in&>(client);
        r.dport = ntohs(sin.sin_port);
        r.destination.v4 = sin.sin_addr;
    } else {
        const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(client);
        r.dport = ntohs(sin6.sin6_port);
        r.destination.v6 = sin6.sin6_addr;
    }
    return r;
}

std::string flow_key(const PolicyRule& r) {
    const void* addr = r.family == AF_INET ? static_cast<const void*>(&r.destination.v4)
                                           : static_cast<const void*>(&r.destination.v6);
    size_t len = r.family == AF_INET ? sizeof r.destination.v4 : sizeof r.destination.v6;
    return std::to_string(r.family) + ":" + std::to_string(r.sport) + ":" +
           std::to_string(r.dport) + ":" + std::string(static_cast<const char*>(addr), len);
}

}  // namespace

bool TransparentRouting::set_up(in_addr guest, bool ipv6, std::string* err) {
    guest_ = guest;
    ipv6_ = ipv6;
    loopback_ = static_cast<int>(if_nametoindex("lo"));
    if (loopback_ == 0) return fail(err, errno_text("no loopback interface"));
    if (!netlink_.open(err)) return false;
    UniqueFd lock = take_lock();
    for (int i = 0; i < kSlots && !presence_; i++) {
        presence_ = bind_abstract(kSlotPrefix + std::to_string(i));
        if (presence_) slot_ = i;
    }
    bool alone = !others_present();
    // A daemon that was killed left its flow rules; nobody else owns them.
    if (alone) remove_all_flow_rules();
    if (!add_shared(err) || !enable_fwmark_accept(err)) {
        if (alone) remove_shared();
        presence_.reset();
        return false;
    }
    ready_ = true;
    return true;
}

LocalDefaultRoute TransparentRouting::local_route(int family) const {
    LocalDefaultRoute route;
    route.family = family;
    route.table = kTransparentTable;
    route.ifindex = loopback_;
    return route;
}

// The IPv4 route, with the guest's address as its source when that address
// is already the namespace's (else EINVAL; ensure_reply_source sets it later).
int TransparentRouting::add_ipv4_route() {
    LocalDefaultRoute route = local_route(AF_INET);
    route.has_source = true;
    route.source = ipv4(guest_);
    int rc = netlink_.add_route(route);
    has_source_ = rc == 0;
    source_ = guest_;
    if (rc != EINVAL) return rc;
    route.has_source = false;
    return netlink_.add_route(route);
}

bool TransparentRouting::add_shared(std::string* err) {
    int families[] = {AF_INET, AF_INET6};
    for (int family : families) {
        if (family == AF_INET6 && !ipv6_) continue;
        const char* name = family == AF_INET ? "IPv4" : "IPv6";
        int rc = family == AF_INET ? add_ipv4_route() : netlink_.add_route(local_route(family));
        if (rc != 0 && rc != EEXIST)
            return fail(
                err, errno_text(std::string("cannot add the ") + name + " local route to table " +
                                    std::to_string(kTransparentTable),
                                rc));
        rc = netlink_.add_rule(mark_rule(family));
        if (rc != 0 && rc != EEXIST)
            return fail(err,
                        errno_text(std::string("cannot add the ") + name + " fwmark rule", rc));
    }
    return true;
}

bool TransparentRouting::ensure_reply_source(in_addr guest, std::string* err) {
    if (has_source_ && source_.s_addr == guest.s_addr) return true;
    LocalDefaultRoute route = local_route(AF_INET);
    route.has_source = true;
    route.source = ipv4(guest);
    int rc = netlink_.replace_route(route);
    if (rc != 0)
        return fail(
            err, errno_text("cannot make " + ipv4_text(guest) + " the local route's source", rc));
    has_source_ = true;
    source_ = guest;
    return true;
}

bool TransparentRouting::enable_fwmark_accept(std::string* err) {
    UniqueFd reader(open(kFwmarkAccept, O_RDONLY | O_CLOEXEC));
    char value = 0;
    if (!reader || read(reader.get(), &value, 1) != 1)
        return fail(err, errno_text(std::string("cannot read ") + kFwmarkAccept));
    if (value == '1') return true;
    // Opened before the write: the sandbox has no /proc when we restore it.
    UniqueFd restore(open(kFwmarkAccept, O_WRONLY | O_CLOEXEC));
    UniqueFd writer(open(kFwmarkAccept, O_WRONLY | O_CLOEXEC));
    if (!restore || !writer || write(writer.get(), "1", 1) != 1)
        return fail(err, errno_text(std::string("cannot set ") + kFwmarkAccept));
    sysctl_restore_ = std::move(restore);
    return true;
}

bool TransparentRouting::others_present() const {
    for (int i = 0; i < kSlots; i++) {
        if (i == slot_) continue;
        if (!bind_abstract(kSlotPrefix + std::to_string(i))) return true;
    }
    return false;
}

void TransparentRouting::remove_shared() {
    int families[] = {AF_INET, AF_INET6};
    for (int family : families) {
        netlink_.delete_rule(mark_rule(family));
        netlink_.delete_route(local_route(family));
    }
    remove_all_flow_rules();
    if (sysctl_restore_) {
        (void)!write(sysctl_restore_.get(), "0", 1);
        sysctl_restore_.reset();
    }
}

void TransparentRouting::remove_all_flow_rules() {
    int families[] = {AF_INET, AF_INET6};
    for (int family : families)
        for (int i = 0; i < kMaxLeftoverRules; i++)
            if (netlink_.delete_rule(any_flow_rule(family)) != 0) break;
}

bool TransparentRouting::divert_udp_replies(const sockaddr_storage& client, uint16_t guest_port,
                                            std::string* err) {
    PolicyRule rule = flow_rule(client, guest_port);
    int rc = netlink_.add_rule(rule);
    // EEXIST: a killed daemon's leftover for the same flow; it is ours now.
    if (rc != 0 && rc != EEXIST) return fail(err, errno_text("cannot add the UDP reply rule", rc));
    flows_[flow_key(rule)] = rule;
    return true;
}

void TransparentRouting::stop_diverting(const sockaddr_storage& client, uint16_t guest_port) {
    auto it = flows_.find(flow_key(flow_rule(client, guest_port)));
    if (it == flows_.end()) return;
    netlink_.delete_rule(it->second);
    flows_.erase(it);
}

void TransparentRouting::tear_down() {
    if (!ready_) return;
    ready_ = false;
    for (const auto& [key, rule] : flows_) netlink_.delete_rule(rule);
    flows_.clear();
    UniqueFd lock = take_lock();
    presence_.reset();
    slot_ = -1;
    if (!others_present()) remove_shared();
}
