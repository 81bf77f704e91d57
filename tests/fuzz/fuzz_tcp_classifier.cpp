// SPDX-License-Identifier: GPL-2.0-or-later
// fuzz_tcp_classifier.cpp: libFuzzer target for the kernel TCP path's frame
// decisions (tcp_classifier.hpp), fed the way kernel_tcp.cpp feeds them:
// every frame is parsed; a SYN the path serves adds a flow, any segment of a
// known flow follows its flags both ways, gets its ports rewritten (on a
// copy) and a SYN is answered with a reset; the table expires as time moves.
// Checked: a port rewrite keeps a valid full checksum valid, a reset always
// parses back as the SYN's answer, and the table never passes its bound.
//
// Input: the fuzz_frames format (tests/fuzz/seeds.py): byte 0 selects
// options (bit 0 IPv6, bit 3 disable-host-loopback), then frames, each a
// big-endian 16-bit length and that many bytes (fewer if the input ends).
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "checksum.hpp"
#include "tcp_classifier.hpp"

namespace {

constexpr size_t kCapacity = 16;

KernelPathScope scope(uint8_t flags) {
    KernelPathScope s;
    inet_pton(AF_INET, "10.0.2.0", &s.network);
    inet_pton(AF_INET, "255.255.255.0", &s.netmask);
    inet_pton(AF_INET, "10.0.2.2", &s.gateway);
    inet_pton(AF_INET, "10.0.2.3", &s.dns);
    s.ipv6 = flags & 1;
    inet_pton(AF_INET6, "fd00::", &s.prefix6);
    inet_pton(AF_INET6, "fd00::2", &s.gateway6);
    inet_pton(AF_INET6, "fd00::3", &s.dns6);
    s.host_loopback = !(flags & 8);
    return s;
}

// The TCP checksum over the segment as the IP header bounds it, or false
// when the header's length does not fit the frame.
bool tcp_checksum_ok(const std::vector<uint8_t>& f, const TcpFrame& t, bool* ok) {
    size_t end;
    uint64_t sum;
    if (t.family == AF_INET) {
        end = 14 + (static_cast<size_t>(f[16]) << 8 | f[17]);
        sum = checksum_sum(f.data() + 26, 8);
    } else {
        end = 54 + (static_cast<size_t>(f[18]) << 8 | f[19]);
        sum = checksum_sum(f.data() + 22, 32);
    }
    if (end > f.size() || end < t.tcp) return false;
    size_t seg = end - t.tcp;
    uint8_t tail[4] = {0, 6, static_cast<uint8_t>(seg >> 8), static_cast<uint8_t>(seg)};
    sum = checksum_sum(f.data() + t.tcp, seg, checksum_sum(tail, 4, sum));
    *ok = checksum_fold(sum) == 0xffff;
    return true;
}

void check_rewrite(const uint8_t* frame, size_t len, const TcpFrame& t) {
    std::vector<uint8_t> copy(frame, frame + len);
    bool before = false, after = false;
    if (!tcp_checksum_ok(copy, t, &before)) return;
    set_tcp_port(copy.data(), t, false, kKernelListenPort, true);
    set_tcp_port(copy.data(), t, true, static_cast<uint16_t>(t.sport ^ 0x5a5a), true);
    tcp_checksum_ok(copy, t, &after);
    if (before && !after) std::abort();
}

void check_reset(const uint8_t* frame, const TcpFrame& t) {
    uint8_t out[kResetFrameSize];
    size_t n = build_reset(frame, t, out);
    TcpFrame r;
    if (n > kResetFrameSize || !parse_tcp_frame(out, n, &r)) std::abort();
    if (r.sport != t.dport || r.dport != t.sport || r.flags != (kTcpRst | kTcpAck)) std::abort();
    if (!(key_to_guest(r) == key_from_guest(t))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    KernelPathScope s = scope(data[0]);
    FlowTable table(kCapacity);
    int64_t now = 0;
    size_t at = 1;
    while (at + 2 <= size) {
        size_t len = static_cast<size_t>(data[at]) << 8 | data[at + 1];
        at += 2;
        if (len > size - at) len = size - at;
        const uint8_t* frame = data + at;
        at += len;
        now += 1000;
        TcpFrame t;
        if (!parse_tcp_frame(frame, len, &t)) continue;
        check_rewrite(frame, len, t);
        FlowTable::Flow* f = table.find(key_from_guest(t));
        bool from_guest = true;
        if (!f) {
            f = table.find(key_to_guest(t));
            from_guest = false;
        }
        if (!f && t.syn_only() && kernel_serves(s, t)) {
            check_reset(frame, t);
            f = table.add(key_from_guest(t), t.dport, frame + 6, now);
        }
        FlowKey key = from_guest ? key_from_guest(t) : key_to_guest(t);
        if (f && table.note_flags(key, *f, t.flags, from_guest, now)) table.erase(key);
        table.expire(now, [](uint64_t) {});
        if (table.size() > kCapacity) std::abort();
    }
    return 0;
}
