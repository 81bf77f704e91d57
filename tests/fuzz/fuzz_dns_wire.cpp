// SPDX-License-Identifier: GPL-2.0-or-later
// fuzz_dns_wire.cpp: libFuzzer target for what the DNS forwarder reads from
// the guest and from the host's file: frames (dns_wire.hpp) and resolv.conf
// text (resolv_conf.hpp).
//
// Input: byte 0 selects; odd: the rest is resolv.conf text; even: the rest
// is one frame from the guest. Checked beyond "no crash": a query found
// lies inside the frame; the reply frame built for it carries the message
// whole, from port 53 to the guest's port, with right IP and UDP lengths;
// an answer made from a message's header and question is never longer than
// the message and keeps its id; a parsed resolv.conf has 1 to kMaxServers
// nameservers, a timeout and attempts within glibc's bounds.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dns_wire.hpp"
#include "fuzz_check.hpp"
#include "resolv_conf.hpp"
#include "wire.hpp"

namespace {

void check_made_answer(const uint8_t* m, size_t len) {
    for (bool truncated : {false, true}) {
        std::vector<uint8_t> a = dns_question_only(m, len, kDnsServfail, truncated);
        if (len < kDnsHeader) {
            check(a.empty(), "an answer made from less than a header");
            continue;
        }
        check(a.size() >= kDnsHeader && a.size() <= len, "a made answer's size");
        check(a[0] == m[0] && a[1] == m[1], "a made answer lost the id");
        check((a[2] & 0x80) && ((a[2] & 0x02) != 0) == truncated, "a made answer's flags");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::vector<uint8_t> rest(data + 1, data + size);  // exact size: overreads are ASan reports
    rest.shrink_to_fit();
    if (data[0] & 1) {
        ResolverConfig c = parse_resolv_conf(
            std::string_view(reinterpret_cast<const char*>(rest.data()), rest.size()));
        check(!c.servers.empty() && c.servers.size() <= ResolverConfig::kMaxServers,
              "nameserver count");
        check(c.timeout_ms >= 1000 && c.timeout_ms <= ResolverConfig::kMaxTimeoutS * 1000,
              "timeout bounds");
        check(c.attempts >= 1 && c.attempts <= ResolverConfig::kMaxAttempts, "attempts bounds");
        return 0;
    }
    DnsAddresses addresses;
    inet_pton(AF_INET, "10.0.2.3", &addresses.dns4);
    addresses.ipv6 = true;
    inet_pton(AF_INET6, "fd00::3", &addresses.dns6);
    check_made_answer(rest.data(), rest.size());
    DnsQueryFrame q;
    if (!parse_dns_query_frame(rest.data(), rest.size(), addresses, &q)) return 0;
    check(q.message >= rest.data() && q.message + q.message_len <= rest.data() + rest.size(),
          "a query outside its frame");
    is_forwardable_query(q.message, q.message_len);
    check_made_answer(q.message, q.message_len);
    std::array<uint8_t, 6> mac{0x52, 0x55, 10, 0, 2, 2};
    std::vector<uint8_t> r = build_dns_reply_frame(q, mac, q.message, q.message_len);
    size_t ip = q.family == AF_INET ? 20 : 40;
    check(r.size() == 14 + dns_reply_overhead(q.family) + q.message_len, "reply frame size");
    const uint8_t* u = r.data() + 14 + ip;
    check(load16(u) == kDnsPort && load16(u + 2) == q.guest_port, "reply ports");
    check(load16(u + 4) == 8 + q.message_len, "reply UDP length");
    check(load16(r.data() + 14 + (q.family == AF_INET ? 2 : 4)) ==
              (q.family == AF_INET ? ip : 0) + 8 + q.message_len,
          "reply IP length");
    check(std::equal(q.message, q.message + q.message_len, u + 8), "reply message");
    return 0;
}
