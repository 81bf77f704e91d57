// SPDX-License-Identifier: GPL-2.0-or-later
// guest_output.hpp owns the interface through which frames reach the
// guest: the packet path's output (packet_path.hpp), the one writer of the
// device. libslirp (slirp_stack.hpp), the DNS forwarder (dns_forwarder.hpp)
// and the kernel TCP and UDP paths (kernel_tcp.hpp, kernel_udp.hpp) all
// write here, so frames keep
// one order: ACKs held during a batch from the guest go before anything
// written after them.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

struct VnetHeader;

class GuestOutput {
   public:
    virtual ~GuestOutput() = default;
    // A plain frame (libslirp's, the DNS forwarder's): the output makes its
    // virtio-net header.
    virtual void send_to_guest(const uint8_t* frame, size_t len) = 0;
    // A frame with the virtio-net header it came with (from the kernel TCP
    // path's tap: a segment may exceed the guest's MTU when it says GSO),
    // written as is to a virtio-net tap; a BESS client gets the bare frame.
    virtual void send_with_header(const VnetHeader& header, const uint8_t* frame, size_t len) = 0;
    // Datagrams of one flow as one frame that the guest's kernel cuts back
    // into them (a GSO header): `headers` (header_len bytes: Ethernet, IP,
    // transport) are those of them all as one; segments[i] is each as an
    // ordinary frame, header_len bytes of its own headers then its payload,
    // which is what --pcap gets (a segment holding more than gso_size bytes
    // is cut further by the guest's kernel). false, having written nothing:
    // the device takes no such frame, or a capture could not show one so
    // cut; the caller sends the datagrams one by one.
    virtual bool send_segments(const VnetHeader& header, const uint8_t* headers, size_t header_len,
                               const iovec* segments, size_t count) = 0;
};
