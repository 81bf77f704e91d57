// wire.hpp owns reading and writing big-endian header fields, for the code
// that looks into frames (vnet.cpp, ipv4_reassembly.cpp).
#pragma once

#include <cstdint>

inline uint16_t load16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

inline uint32_t load32(const uint8_t* p) {
    return static_cast<uint32_t>(load16(p)) << 16 | load16(p + 2);
}

inline void store16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
