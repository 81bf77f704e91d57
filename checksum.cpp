// SPDX-License-Identifier: GPL-2.0-or-later
// checksum.cpp: the Internet checksum (see checksum.hpp). Per-frame code:
// [[gnu::hot]] keeps it in .text.hot next to the event loop.
#include "checksum.hpp"

#include <bit>
#include <cstring>

#include "wire.hpp"

[[gnu::hot]] uint64_t checksum_sum(const uint8_t* data, size_t len, uint64_t sum) {
    // The one's-complement sum does not depend on byte order (RFC 1071): add
    // native 32-bit words into a 64-bit accumulator (carries collect in the
    // upper half; the loop vectorizes), fold, and swap to network order once.
    uint64_t native = 0;
    while (len >= 4) {
        uint32_t word;
        std::memcpy(&word, data, 4);
        native += word;
        data += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t half;
        std::memcpy(&half, data, 2);
        native += half;
        data += 2;
        len -= 2;
    }
    uint16_t folded = checksum_fold(native);
    if constexpr (std::endian::native == std::endian::little)
        folded = static_cast<uint16_t>(folded << 8 | folded >> 8);
    sum += folded;
    if (len) sum += static_cast<uint64_t>(data[0]) << 8;
    return sum;
}

[[gnu::hot]] uint16_t checksum_fold(uint64_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// RFC 1624, equation 3: HC' = ~(~HC + ~m + m').
[[gnu::hot]] uint16_t checksum_update(uint16_t check, uint16_t old_word, uint16_t new_word) {
    uint64_t sum = static_cast<uint16_t>(~check);
    sum += static_cast<uint16_t>(~old_word);
    sum += new_word;
    return static_cast<uint16_t>(~checksum_fold(sum));
}

[[gnu::hot]] void set_ipv4_checksum(uint8_t* ip, size_t header_length) {
    store16(ip + 10, 0);
    store16(ip + 10, static_cast<uint16_t>(~checksum_fold(checksum_sum(ip, header_length))));
}
