// SPDX-License-Identifier: GPL-2.0-or-later
// tc_redirect.hpp owns the kernel-to-kernel delivery's state in the guest's
// network namespace: which of the guest's frames tc moves between its tap
// and the private namespace, and making and removing that state over
// rtnetlink. It knows nothing of processes; private_netns.hpp decides when.
//
// Theory of operation. A veth pair joins the guest's namespace (the end
// named redirect_veth_name(tap): no addresses, no ARP, IPv6 off, the
// gateway's MAC) to the kernel TCP path's private namespace. A clsact qdisc
// on the guest's tap runs u32 filters on its egress, that is on every frame
// the guest's kernel sends to the tap:
//  - a TCP SYN without ACK goes on to the tap (the daemon holds it while it
//    connects from the host namespace, then hands it to the private kernel);
//  - TCP from one of the guest's slirp-mode forwarded ports goes on too
//    (libslirp owns those flows): exclusion_filters, added and removed as
//    forwards come and go;
//  - other TCP from the guest's addresses to the gateway (when it stands for
//    the host's loopback) and to every address outside the virtual network
//    is `mirred egress redirect`ed to the veth: the private kernel gets it
//    without the daemon reading a byte;
//  - everything else (IPv4 with options or fragments, TCP to other
//    in-network addresses, the DNS forwarder's streams among them, UDP,
//    ARP, ...) goes on to the tap; the daemon passes the DNS streams'
//    segments to the private kernel itself.
// With the kernel UDP path on, a second veth pair (udp_veth_name(tap))
// takes the guest's UDP the same way, by filters that are in while the
// daemon reads it there (install_udp, uninstall_udp): each IPv4 or IPv6 UDP packet from the guest's
// addresses under 2 KiB is redirected to it. Its other end, in the private
// namespace, has a MAC of its own, no addresses and IPv6 off, so the
// private kernel drops every frame as addressed to another host, after a
// packet socket of the daemon's with a receive ring (frame_ring.hpp) has
// copied it. The daemon reads a batch of datagrams from that ring with no
// system call per frame, where the tap would take one read each; larger
// packets (a guest's UDP GSO frames) stay on the tap, which gives them
// whole. Nothing changes owner: both ways lead to the same handler.
// On the veth end's ingress, `mirred ingress redirect` hands the private
// kernel's TCP to the tap as if the guest's kernel had received it there,
// so the guest's own netfilter sees its traffic leave and enter by the tap.
// Both veth ends carry the gateway's MAC: frames either way are addressed
// to it, so each end takes them as its own (a frame for another MAC would
// reach the guest's IP layer as PACKET_OTHERHOST and be dropped), whatever
// MAC the guest gives itself. IPv6 frames are addressed to it too because
// the daemon names that MAC in the NDP libslirp sends the guest
// (tcp_classifier.hpp's rewrite_ndp_mac).
//
// Every filter sits at one of a few fixed priorities of ours, so a daemon
// can remove a predecessor's leftovers (one killed with SIGKILL) without
// touching anyone else's filters (and the qdisc too, where the predecessor
// made it: made_qdisc_mark), and a qdisc of someone else's that keeps
// ours out makes the delivery fail cleanly instead of being replaced.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rtnetlink.hpp"

// What the filters need to know of the virtual network.
struct RedirectScope {
    in_addr network{}, netmask{}, gateway{};
    bool host_loopback = true;  // TCP to the gateway is the kernel path's
    bool ipv6 = false;
    in6_addr prefix6{}, gateway6{};  // a /64
};

// 32 bits of the frame at a byte offset from the network header (a multiple
// of 4) that must equal value under mask; host byte order.
struct U32Key {
    uint32_t value = 0;
    uint32_t mask = 0;
    int offset = 0;
};

struct RedirectFilter {
    uint16_t priority = 0;
    uint16_t protocol = 0;  // ETH_P_IP, ETH_P_IPV6
    std::vector<U32Key> keys;
    bool redirect = false;  // false: the frame goes on to the tap
    uint32_t chain = 0;
};

// The guest tap's egress filters, in priority order (see the top).
std::vector<RedirectFilter> guest_egress_filters(const RedirectScope& scope);
// The filters that leave a forwarded guest port's TCP to the daemon; slot
// numbers 0 .. kExclusionSlots-1 give each its own priorities.
constexpr int kExclusionSlots = 32;
std::vector<RedirectFilter> exclusion_filters(const RedirectScope& scope, int slot,
                                              uint16_t guest_port);
// The filter that marks a clsact qdisc as made by us (see the top).
RedirectFilter made_qdisc_mark();
// Every priority a filter of ours may use, for removal.
std::vector<uint16_t> redirect_priorities();

// The veth end in the guest's namespace: "s4n-" and the tap's name; one
// too long for an interface name is cut and ends in a hash of the whole
// ("s4n-container-eth0" -> "s4n-contai-aeb6"), so that daemons on two taps
// never share one.
std::string redirect_veth_name(const std::string& tap);
// The UDP veth's end in the guest's namespace: "s4u-" and the tap's name,
// cut the same way.
std::string udp_veth_name(const std::string& tap);
// The guest tap's egress filters that send UDP to the UDP veth.
std::vector<RedirectFilter> guest_udp_filters(const RedirectScope& scope);

// The state in the guest's namespace, made and removed through an
// rtnetlink socket opened there (it keeps working from the private
// namespace).
class TcRedirect {
   public:
    // Removes what a predecessor on this tap left: our filters and veth, and
    // the clsact qdisc where it made that.
    static void remove_leftovers(Rtnetlink& guest_ns, const std::string& tap);

    // Makes the veth pair in the guest's namespace (the caller is there);
    // the peer, `peer_name`, is moved into the private namespace later by
    // move_peer. mtu and mac: the guest's MTU, the gateway's MAC.
    bool create_veth(Rtnetlink& guest_ns, const std::string& tap, const std::string& peer_name,
                     unsigned mtu, const std::array<uint8_t, 6>& mac, std::string* err);
    bool move_peer(Rtnetlink& guest_ns, int netns_fd, std::string* err);
    // The UDP veth pair (see the top): made in the guest's namespace, its
    // peer (a MAC of its own) moved later by move_udp_peer.
    bool create_udp_veth(Rtnetlink& guest_ns, const std::string& tap, const std::string& peer_name,
                         unsigned mtu, std::string* err);
    bool move_udp_peer(Rtnetlink& guest_ns, int netns_fd, std::string* err);
    bool has_udp_veth() const { return udp_veth_index_ > 0; }
    // The UDP veth goes (its filters were never added, or are removed).
    void remove_udp(Rtnetlink& guest_ns);
    // The qdiscs and filters: from now on the guest's TCP goes to the veth.
    bool install(Rtnetlink& guest_ns, const RedirectScope& scope, std::string* err);
    // The UDP filters: from now on the guest's small UDP packets go to the
    // UDP veth (0 or an errno; on failure none is left).
    int install_udp(Rtnetlink& guest_ns, const RedirectScope& scope);
    // ... and no more (the UDP veth stays, for the next install_udp).
    void uninstall_udp(Rtnetlink& guest_ns);
    // Adds or removes a forwarded guest port's exclusion (0 or an errno).
    int exclude(Rtnetlink& guest_ns, const RedirectScope& scope, uint16_t guest_port);
    int include(Rtnetlink& guest_ns, uint16_t guest_port);
    // Removes everything made (filters, our qdisc, the veth); idempotent.
    void remove(Rtnetlink& guest_ns);

   private:
    int tap_index_ = 0;
    int veth_index_ = 0;
    int peer_index_ = 0;
    int udp_veth_index_ = 0;
    int udp_peer_index_ = 0;
    bool made_qdisc_ = false;
    std::array<uint16_t, kExclusionSlots> excluded_{};  // a guest port per slot, 0: free
};
