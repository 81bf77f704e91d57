// SPDX-License-Identifier: GPL-2.0-or-later
// transparent_routing.hpp owns the policy routing, inside the target
// namespace, that lets splice-mode forwards show the guest the client's real
// address.
//
// Theory of operation. The port-forwarding helper opens each forwarded
// connection's namespace-side socket with IP_TRANSPARENT, bound to the
// client's address (a non-local one), and connects it to the guest's server.
// The server answers that address, which the namespace would route out
// through the tap; these rules bring the answers back to the helper's socket
// instead, so no packet of a forwarded connection ever reaches the tap:
//
//   TCP  The socket also carries SO_MARK kTransparentMark. With
//        net.ipv4.tcp_fwmark_accept=1 the server's accepted socket inherits
//        the mark, and `ip rule fwmark kTransparentMark lookup
//        kTransparentTable` sends everything it emits to that table, whose
//        only route is `local default dev lo`: delivered locally, to our
//        socket.
//   UDP  A reply carries no mark. A rule per flow, `ipproto udp sport GUEST
//        dport CLIENTPORT to CLIENT lookup kTransparentTable`, diverts only
//        the replies to that one client socket, added when the flow opens and
//        removed when it idles out, so the container's own traffic from the
//        same port to anyone else still leaves through the tap. A server
//        bound to the wildcard answers from the source the kernel picks for
//        the client's address, which need not be the one it was asked on
//        (asked on ::1, it answers from the tap's SLAAC address once there
//        is one), so the helper's socket is bound, not connected: it takes
//        whatever the rule brings. The IPv4 route carries the guest's
//        address as its source (once the address exists: rootlesskit
//        configures the interface after we start).
//
// The shared part (the two fwmark rules, the two local routes, the sysctl)
// is the same for every daemon: one that finds it there leaves it alone.
// Daemons in one namespace count each other through abstract unix sockets
// (named per network namespace, released by the kernel when a process dies),
// and the last one to leave cleanly removes the shared part; the first one
// in also removes flow rules that a killed daemon left behind.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <string>

#include "rtnetlink.hpp"
#include "unique_fd.hpp"

// Numbers chosen to stay out of the way of other users of policy routing
// (wg-quick, Tailscale, systemd-networkd): "slir" in ASCII for the mark and
// the table, and priorities well before the main table's 32766.
inline constexpr uint32_t kTransparentMark = 0x736c6972;   // 1936484722
inline constexpr uint32_t kTransparentTable = 0x736c6972;  // 1936484722
inline constexpr uint32_t kMarkRulePriority = 19440;
inline constexpr uint32_t kFlowRulePriority = 19441;

class TransparentRouting {
   public:
    TransparentRouting() = default;
    TransparentRouting(const TransparentRouting&) = delete;
    TransparentRouting& operator=(const TransparentRouting&) = delete;
    ~TransparentRouting() { tear_down(); }

    // Puts the shared part in place (or joins it). Runs in the target
    // namespace before the helper confines itself: it needs /proc/sys and
    // CAP_NET_ADMIN there. On failure nothing of ours is left behind.
    bool set_up(in_addr guest, bool ipv6, std::string* err);
    bool ready() const { return ready_; }

    // Diverts the UDP replies that the guest's port `guest_port` sends to
    // `client` (address and port) back to the helper's socket bound there.
    bool divert_udp_replies(const sockaddr_storage& client, uint16_t guest_port, std::string* err);
    void stop_diverting(const sockaddr_storage& client, uint16_t guest_port);
    // Makes `guest` the IPv4 route's source, if it is not yet (see above).
    bool ensure_reply_source(in_addr guest, std::string* err);

    // Removes this daemon's flow rules, and the shared part when no other
    // daemon is using it. Idempotent.
    void tear_down();

   private:
    bool add_shared(std::string* err);
    int add_ipv4_route();
    void remove_shared();
    void remove_all_flow_rules();
    bool others_present() const;
    bool enable_fwmark_accept(std::string* err);
    LocalDefaultRoute local_route(int family) const;

    Rtnetlink netlink_;
    bool ready_ = false;
    in_addr guest_{};
    bool ipv6_ = false;
    int loopback_ = 0;
    bool has_source_ = false;  // the IPv4 route's source is source_
    in_addr source_{};
    UniqueFd presence_;  // our slot among the daemons using this namespace
    int slot_ = -1;
    UniqueFd sysctl_restore_;  // open while we are the one who set the sysctl
    std::map<std::string, PolicyRule> flows_;
};
