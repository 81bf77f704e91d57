// SPDX-License-Identifier: GPL-2.0-or-later
// urgent_data_fence.cpp: clearing TCP urgent data from guest segments (see
// urgent_data_fence.hpp).
#include "urgent_data_fence.hpp"

#include "checksum.hpp"

[[gnu::hot]] bool urgent_data_fence(uint8_t* frame, const TcpView& v) {
    if (v.tcp == 0) return false;
    uint8_t* tcp = frame + v.tcp;
    uint16_t urgent = load16(tcp + 18);
    if (!(tcp[13] & kTcpUrg) && urgent == 0) return false;
    uint16_t check = load16(tcp + 16);
    uint16_t old_flags = load16(tcp + 12);
    auto new_flags = static_cast<uint16_t>(old_flags & ~kTcpUrg);
    check = checksum_update(check, old_flags, new_flags);
    check = checksum_update(check, urgent, 0);
    store16(tcp + 12, new_flags);
    store16(tcp + 18, 0);
    store16(tcp + 16, check);
    return true;
}
