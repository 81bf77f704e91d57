// SPDX-License-Identifier: GPL-2.0-or-later
// vnet.hpp owns the frame surgery for a tap opened with IFF_VNET_HDR and
// TUNSETOFFLOAD (TSO4/TSO6/CSUM): the kernel then hands over 64 KB TCP
// segments with a partial checksum, and takes 64 KB segments that it cuts
// to the guest's MSS itself. libslirp knows nothing of this, so:
//  - from the guest: partial checksums are completed before slirp_input
//    (libslirp verifies every checksum), and a SYN's default MSS is raised
//    so that libslirp's replies may be large;
//  - to the guest: a TCP segment larger than the tap's MTU gets a GSO header
//    with the guest's real MSS; other IPv4 packets larger than the MTU are
//    fragmented here, as libslirp would have done at the tap's MTU;
//  - to the guest, at any MTU: TCP frames go with their checksum marked
//    partial. libslirp has already summed every byte, so the guest's kernel
//    need not verify it again (measured: 2-3 % of our CPU time at MTU 65520,
//    spent in our context since tap writes deliver synchronously).
// Pure functions over byte buffers: unit-tested in tests/unit/test_vnet.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "wire.hpp"

// The virtio-net header a tap with IFF_VNET_HDR puts before every frame
// (struct virtio_net_hdr; linux/virtio_net.h itself is not valid C++), in
// the host's byte order.
struct VnetHeader {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
};
static_assert(sizeof(VnetHeader) == 10);
constexpr uint8_t kVnetNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr uint8_t kVnetGsoNone = 0;    // VIRTIO_NET_HDR_GSO_*
constexpr uint8_t kVnetGsoTcpv4 = 1;
constexpr uint8_t kVnetGsoTcpv6 = 4;
constexpr uint8_t kVnetGsoUdpL4 = 5;

// The MSS a raised SYN announces, and the MTU libslirp is configured with
// when the tap segments for us: the largest IPv4 packet.
constexpr unsigned kVnetSlirpMtu = 65520;

// Completes the checksum the kernel left partial (kVnetNeedsCsum):
// the field at csum_start + csum_offset holds the pseudo-header sum. Returns
// false when the offsets do not fit the frame.
bool vnet_complete_checksum(uint8_t* frame, size_t len, uint16_t csum_start, uint16_t csum_offset);

// A guest SYN announcing exactly the MSS its MTU implies (mtu - 40 for IPv4,
// mtu - 60 for IPv6) is rewritten to announce kVnetSlirpMtu - 40, checksum
// adjusted. tcp: the frame's TCP header (find_tcp). Returns true when the
// frame was changed.
bool vnet_raise_syn_mss(uint8_t* frame, const TcpView& tcp, unsigned mtu);

// How a frame from libslirp goes to a tap that segments for us.
struct VnetOutput {
    // Partial: a TCP frame that fits, its checksum left for the kernel.
    enum Kind { Plain, Partial, Segmented, Fragment } kind = Plain;
    VnetHeader header{};  // for Plain, Partial and Segmented
    // Partial and Segmented: the TCP checksum field's offset and the partial
    // (pseudo-header) value the kernel expects there instead of the full one.
    size_t check_offset = 0;
    uint16_t partial_check = 0;
};
// mtu: the tap's MTU when the kernel segments for us, 0 when it does not
// (then nothing is segmented or fragmented, only TCP checksums go partial).
VnetOutput vnet_classify_output(const uint8_t* frame, size_t len, unsigned mtu);

// Splits an IPv4 frame into fragments of at most mtu bytes of IP packet and
// calls emit for each (Ethernet header included). Returns false if the frame
// cannot be fragmented (not IPv4, or DF set), in which case nothing is emitted.
bool vnet_fragment_ipv4(const uint8_t* frame, size_t len, unsigned mtu,
                        const std::function<void(const uint8_t*, size_t)>& emit);
