// SPDX-License-Identifier: GPL-2.0-or-later
// urgent_data_fence.hpp owns keeping TCP urgent data from the guest away
// from libslirp.
//
// libslirp up to 4.9.1 (Debian 12 ships 4.7.0) trusts a guest's urgent
// pointer: it counts as urgent every byte up to where the pointer says,
// received or not, and when it passes that data on to the host socket
// (sosendoob) it sends that many bytes from its receive buffer, then
// subtracts them from the bytes it holds, which underflows. The host peer
// then receives bytes the guest never sent: stale contents of the buffer and,
// as the count wraps, of the daemon's heap beyond it.
//
// Urgent data is obsolete (RFC 6093: new applications must not use it) and
// passt ignores it too. So every TCP segment from the guest loses its URG
// flag and its urgent pointer before libslirp sees it, the checksum updated
// to match; the bytes the pointer marked travel as ordinary data.
//
// Runs after Ipv4Reassembly (a datagram is whole by then) and after a
// virtio-net partial checksum was completed (the update needs the full
// checksum). A segment whose checksum was wrong stays wrong. Pure functions
// on a frame buffer: unit-tested in tests/unit/test_urgent_data_fence.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "wire.hpp"

// Clears URG and the urgent pointer of an Ethernet frame carrying a TCP
// segment (IPv4, or IPv6 with TCP as its first next header: libslirp takes
// no other); tcp is where find_tcp found its header (none: not a segment).
// Returns true when the frame was changed.
bool urgent_data_fence(uint8_t* frame, const TcpView& tcp);
