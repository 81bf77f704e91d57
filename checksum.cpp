// SPDX-License-Identifier: GPL-2.0-or-later
// checksum.cpp: the Internet checksum (see checksum.hpp). Per-frame code:
// [[gnu::hot]] keeps it in .text.hot next to the event loop.
#include "checksum.hpp"

#include <sys/socket.h>

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

size_t write_ip_header(uint8_t* frame, int family, uint8_t proto, const uint8_t* src,
                       const uint8_t* dst, size_t payload_len, uint64_t* pseudo) {
    uint8_t* ip = frame + kEthHeader;
    if (family == AF_INET) {
        store16(frame + 12, kEthIpv4);
        ip[0] = 0x45;
        store16(ip + 2, static_cast<uint16_t>(20 + payload_len));
        ip[8] = 64;
        ip[9] = proto;
        std::memcpy(ip + 12, src, 4);
        std::memcpy(ip + 16, dst, 4);
        set_ipv4_checksum(ip, 20);
        *pseudo = checksum_sum(ip + 12, 8);
        return kEthHeader + 20;
    }
    store16(frame + 12, kEthIpv6);
    ip[0] = 0x60;
    store16(ip + 4, static_cast<uint16_t>(payload_len));
    ip[6] = proto;
    ip[7] = 64;
    std::memcpy(ip + 8, src, 16);
    std::memcpy(ip + 24, dst, 16);
    *pseudo = checksum_sum(ip + 8, 32);
    return kEthHeader + 40;
}

uint16_t transport_checksum(uint64_t pseudo, uint8_t proto, const uint8_t* segment, size_t len) {
    uint8_t tail[4] = {0, proto, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    return static_cast<uint16_t>(
        ~checksum_fold(checksum_sum(segment, len, checksum_sum(tail, 4, pseudo))));
}
