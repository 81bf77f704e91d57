// private_netns.hpp owns making the kernel TCP path's own network namespace
// (see kernel_tcp.hpp). A short-lived child, in the target's user namespace
// (or one of its own for a tap FD or a BESS target), unshares a network
// namespace and sets it up: lo up; a tap with virtio-net headers, the
// gateway's MAC and addresses, no ARP or neighbour discovery (its frames
// only ever reach the daemon); "local default dev lo" routes for IPv4 and
// IPv6 (AnyIP: every address is local) and no route out. It passes back the
// tap and one listening socket per family, then exits: those descriptors
// keep the namespace alive, and the namespace ends with the daemon. The
// daemon sets the tap's offloads once it knows the guest's device.
#pragma once

#include <netinet/in.h>

#include <array>
#include <string>

#include "child_process.hpp"
#include "options.hpp"
#include "unique_fd.hpp"

struct PrivateNetnsSettings {
    unsigned mtu = 1500;
    std::array<uint8_t, 6> mac{};  // the gateway's, as the guest knows it
    in_addr gateway{};
    unsigned prefix = 24;
    bool ipv6 = false;
    in6_addr gateway6{};  // a /64
};

struct PrivateNetns {
    UniqueFd tap;                  // non-blocking, frames prefixed with a VnetHeader
    UniqueFd listen4;              // 0.0.0.0:kKernelListenPort, non-blocking
    UniqueFd listen6;              // [::]:kKernelListenPort (IPv6 only) when settings.ipv6
    std::array<uint8_t, 6> mac{};  // the tap's: frames to it must carry it
};

// The MAC libslirp gives the gateway: 52:55 and the gateway's IPv4 address.
std::array<uint8_t, 6> gateway_mac(in_addr gateway);

// The child at work: started before the guest's tap is made so that both
// children run at once (start-up waits for the slower, not for the sum).
struct PendingPrivateNetns {
    UniqueFd channel;
    ChildProcess child;
    bool ipv6 = false;
    std::array<uint8_t, 6> mac{};
};

// Starts the child. On failure returns false with *err set to one line.
bool start_private_netns(const Options& options, const PrivateNetnsSettings& settings,
                         PendingPrivateNetns* out, std::string* err);

// Waits for the child's descriptors. offloads: the tap may hand over TSO
// segments with partial checksums (the guest's tap takes them too). On
// failure returns false with *err set to one line.
bool finish_private_netns(PendingPrivateNetns pending, bool offloads, PrivateNetns* out,
                          std::string* err);
