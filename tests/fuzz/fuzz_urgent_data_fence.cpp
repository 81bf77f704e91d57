// SPDX-License-Identifier: GPL-2.0-or-later
// fuzz_urgent_data_fence.cpp: libFuzzer target for the urgent-data fence
// (urgent_data_fence.hpp), which rewrites every guest frame that reaches
// libslirp. Input: one Ethernet frame. Checked beyond "no crash" (and no read
// past the frame, which is an exact-size heap copy): a changed frame has URG
// and the urgent pointer cleared and nothing else changed but the checksum;
// a TCP checksum that was right stays right, one that was wrong stays wrong;
// a second pass changes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "checksum.hpp"
#include "fuzz_check.hpp"
#include "urgent_data_fence.hpp"
#include "wire.hpp"

namespace {

bool checksum_right(const std::vector<uint8_t>& f, const TcpView& v) {
    const uint8_t* ip = f.data() + v.ip;
    uint64_t sum = v.v6 ? checksum_sum(ip + 8, 32) : checksum_sum(ip + 12, 8);
    sum += kProtoTcp + v.tcp_len;
    return checksum_fold(checksum_sum(f.data() + v.tcp, v.tcp_len, sum)) == 0xffff;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<uint8_t> frame(data, data + size);
    frame.shrink_to_fit();
    TcpView v = find_tcp(frame.data(), frame.size());
    bool right_before = v.tcp && checksum_right(frame, v);
    bool changed = urgent_data_fence(frame.data(), v);
    check(!changed || v.tcp != 0, "a frame without a TCP segment was changed");
    if (v.tcp) {
        check(!(frame[v.tcp + 13] & 0x20), "URG survived");
        check(load16(&frame[v.tcp + 18]) == 0, "the urgent pointer survived");
        check(checksum_right(frame, v) == right_before, "the checksum's validity changed");
    }
    for (size_t i = 0; i < size; i++) {
        bool may_change =
            v.tcp && (i == v.tcp + 12 || i == v.tcp + 13 || (i >= v.tcp + 16 && i < v.tcp + 20));
        check(may_change || frame[i] == data[i],
              "a byte outside the TCP flags, checksum and "
              "urgent pointer changed");
        check(i != v.tcp + 12 || !v.tcp || frame[i] == data[i], "the data offset changed");
    }
    check(!urgent_data_fence(frame.data(), find_tcp(frame.data(), frame.size())),
          "a second pass changed the frame");
    return 0;
}
