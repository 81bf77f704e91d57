// SPDX-License-Identifier: GPL-2.0-or-later
// private_netns.hpp owns making the kernel TCP path's own network namespace
// (see kernel_tcp.hpp). A short-lived child, in the target's user namespace
// (or one of its own for a tap FD or a BESS target), unshares a network
// namespace and sets it up. That child is the tap child itself, once the
// guest's tap is sent (one fork fewer in start-up), or, with no tap child,
// one of its own. The namespace has: lo up; a tap with virtio-net headers,
// the gateway's MAC and addresses, no ARP or neighbour discovery (its frames
// only ever reach the daemon); "local default dev lo" routes for IPv4 and
// IPv6 (AnyIP: every address is local) and no route out. It passes back the
// tap and one listening socket per family in one message, then exits: those
// descriptors keep the namespace alive, and the namespace ends with the
// daemon. The daemon sets the tap's offloads once it knows the guest's
// device. Start-up does not wait for the child: the daemon collects its
// message in the event loop, after ready-fd when the child is the slower
// (making a network namespace is), and the kernel path holds the guest's
// first SYNs until then (kernel_tcp.hpp).
#pragma once

#include <netinet/in.h>

#include <array>
#include <string>

#include "child_process.hpp"
#include "options.hpp"
#include "tc_redirect.hpp"
#include "unique_fd.hpp"

struct PrivateNetnsSettings {
    unsigned mtu = 1500;
    std::array<uint8_t, 6> mac{};  // the gateway's, as the guest knows it
    in_addr gateway{};
    unsigned prefix = 24;
    bool ipv6 = false;
    in6_addr gateway6{};  // a /64
    // The DNS address, made local (on lo) so that the DNS forwarder's TCP
    // connections end here too (dns_forwarder.hpp); unset: none.
    in_addr dns{};
    in6_addr dns6{};
    // Kernel-to-kernel delivery (tc_redirect.hpp): tried when set and the
    // child is in the guest's namespace with its tap named `tap`.
    bool redirect = false;
    std::string tap;
    RedirectScope scope;
    // With it, the guest's UDP too, read from a packet socket's ring
    // (frame_ring.hpp): the kernel UDP path runs.
    bool redirect_udp = false;
    bool seccomp = false;  // the keeper confines itself as the daemon will
};

struct PrivateNetns {
    UniqueFd tap;                  // non-blocking, frames prefixed with a VnetHeader
    UniqueFd listen4;              // 0.0.0.0:kKernelListenPort, non-blocking
    UniqueFd listen6;              // [::]:kKernelListenPort (IPv6 only) when settings.ipv6
    std::array<uint8_t, 6> mac{};  // the tap's: frames to it must carry it
    // Kernel-to-kernel delivery is in place: the guest's established TCP
    // reaches the private kernel by tc, and the child stays as its keeper
    // (redirect_keeper.hpp), through these. Otherwise the daemon bridges
    // frames between the guest's tap and `tap`; why_not says why, when
    // delivery was tried.
    bool redirect = false;
    std::string why_not;
    UniqueFd keeper_channel;
    ChildProcess keeper;
    // With kernel-to-kernel delivery and settings.redirect_udp: the packet
    // socket on the UDP veth's peer, its filters not yet added (the keeper
    // adds them once asked: RedirectKeeper::deliver_udp). Invalid when that
    // veth could not be had.
    UniqueFd udp_frames;
};

// Opens a listener in the private namespace (the caller is there) on port
// of either family: non-blocking, every address (AnyIP).
bool listen_in_private_netns(int family, uint16_t port, UniqueFd* listener, std::string* err);

// Logs that the guest's UDP is read from the tap, and why (one line).
void udp_redirect_unavailable(const std::string& why);

// The MAC libslirp gives the gateway: 52:55 and the gateway's IPv4 address.
std::array<uint8_t, 6> gateway_mac(in_addr gateway);

// The child at work, waiting for the daemon's word.
struct PendingPrivateNetns {
    UniqueFd channel;
    ChildProcess child;
    bool ipv6 = false;
    std::array<uint8_t, 6> mac{};
};

// Starts a child of its own (no tap child to ask). On failure returns
// false with *err set to one line.
bool start_private_netns(const Options& options, const PrivateNetnsSettings& settings,
                         PendingPrivateNetns* out, std::string* err);

// For the tap child, after it sent the tap: makes the namespace (once the
// daemon says so) in the target's user namespace it is already in, sends
// the descriptors on channel and exits.
[[noreturn]] void make_private_netns_here(const PrivateNetnsSettings& settings, int channel);

// The daemon's side of that: the tap child and its channel become the
// pending namespace.
void adopt_private_netns_child(const PrivateNetnsSettings& settings, UniqueFd channel,
                               ChildProcess child, PendingPrivateNetns* out);

// The child waits for this before it makes the namespace: the daemon sends
// it once ready, so that the work does not slow its start-up.
void let_private_netns_begin(PendingPrivateNetns& pending);

// Collects the child's descriptors once its channel is readable: the child
// sends one message, so this never waits. offloads: the tap may hand over
// TSO segments with partial checksums (the guest's tap takes them too). On
// failure returns false with *err set to one line. Either way the child is
// then exiting: the channel's end of stream says when it can be reaped.
bool finish_private_netns(PendingPrivateNetns& pending, bool offloads, PrivateNetns* out,
                          std::string* err);
