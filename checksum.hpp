// SPDX-License-Identifier: GPL-2.0-or-later
// checksum.hpp owns the Internet checksum (RFC 1071) over byte buffers: what
// completing a partial checksum from the tap (vnet.hpp), fixing a TCP header
// (vnet.hpp, urgent_data_fence.hpp) and rebuilding a reassembled IPv4 header (ipv4_reassembly.hpp)
// have in common.
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
