// SPDX-License-Identifier: GPL-2.0-or-later
// fuzz_ipv4_reassembly.cpp: libFuzzer target for the daemon's IPv4
// reassembly (ipv4_reassembly.hpp) on its own, so its invariants are checked
// directly rather than through libslirp (fuzz_frames covers the pair).
//
// Input: frames, each a big-endian 16-bit length and that many bytes, and a
// byte of clock advance (in 100 ms steps) before each. Checked beyond "no
// crash": what is delivered is either the frame itself (no fragment) or a
// whole datagram that is no fragment, whose IP length matches its size, at
// most 65535 bytes, with a right header checksum; never more pending than
// the bound.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "checksum.hpp"
#include "fuzz_check.hpp"
#include "ipv4_reassembly.hpp"
#include "wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Ipv4Reassembly reassembly;
    int64_t now_ms = 1000;
    size_t pos = 0;
    std::vector<uint8_t> frame;
    while (pos + 3 <= size) {
        now_ms += int64_t{data[pos]} * 100;
        size_t want = static_cast<size_t>(data[pos + 1]) << 8 | data[pos + 2];
        pos += 3;
        size_t have = std::min(want, size - pos);
        frame.assign(data + pos, data + pos + have);  // exact size: overreads are ASan reports
        frame.shrink_to_fit();
        pos += have;
        bool fragment = is_ipv4_fragment(frame.data(), frame.size());
        const uint8_t* original = frame.data();
        reassembly.pass(
            frame.data(), frame.size(), [&] { return now_ms; },
            [&](uint8_t* p, size_t n) {
                if (!fragment) {
                    check(p == original && n == frame.size(),
                          "a non-fragment was not passed as is");
                    return;
                }
                check(n >= 14 + 20 && !is_ipv4_fragment(p, n),
                      "a delivered datagram is a fragment");
                const uint8_t* ip = p + 14;
                size_t header = static_cast<size_t>(ip[0] & 0x0f) * 4;
                check(load16(ip + 2) == n - 14, "the IP length does not match the datagram");
                check(n - 14 <= 65535, "a datagram over 65535 bytes");
                check(checksum_fold(checksum_sum(ip, header)) == 0xffff, "a wrong header checksum");
            });
        check(reassembly.pending() <= Ipv4Reassembly::kMaxPending, "too many datagrams pending");
    }
    return 0;
}
