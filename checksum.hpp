// SPDX-License-Identifier: GPL-2.0-or-later
// checksum.hpp owns the Internet checksum (RFC 1071) over byte buffers: what
// completing a partial checksum from the tap (vnet.hpp), fixing a TCP header
// (vnet.hpp, urgent_data_fence.hpp), rebuilding a reassembled IPv4 header
// (ipv4_reassembly.hpp) and making a packet for the guest (a DNS answer in
// dns_wire.hpp, a reset in tcp_classifier.hpp) have in common.
#pragma once

#include <cstddef>
#include <cstdint>

// One's-complement sum of len bytes (network order words), not folded.
uint64_t checksum_sum(const uint8_t* data, size_t len, uint64_t sum = 0);
uint16_t checksum_fold(uint64_t sum);
// A checksum after one 16-bit word it covers went from old_word to new_word.
uint16_t checksum_update(uint16_t check, uint16_t old_word, uint16_t new_word);
// Fills in the header checksum of the IPv4 header at ip.
void set_ipv4_checksum(uint8_t* ip, size_t header_length);

// The Ethernet type and a plain IP header (no options or extension headers,
// TTL 64, not fragmented) of a packet made here for the guest, written at
// `frame` + 12: `family` (AF_INET or AF_INET6), addresses `src` and `dst`
// (4 or 16 bytes), protocol `proto` and `payload_len` bytes after the
// header. Returns where the payload starts in the frame and leaves in
// *pseudo the sum of the pseudo-header's addresses, for transport_checksum.
size_t write_ip_header(uint8_t* frame, int family, uint8_t proto, const uint8_t* src,
                       const uint8_t* dst, size_t payload_len, uint64_t* pseudo);
// The checksum field's value for a TCP or UDP segment of len bytes (its
// checksum field zero) behind a header write_ip_header made; UDP sends 0 as
// 0xffff, which the caller does.
uint16_t transport_checksum(uint64_t pseudo, uint8_t proto, const uint8_t* segment, size_t len);
