// SPDX-License-Identifier: GPL-2.0-or-later
// fuzz_options.cpp: libFuzzer target for the command-line parser. The input
// is an argv vector, elements separated by NUL bytes, after the program name.
// Besides "no crash, no sanitizer report", it checks that every accepted
// combination is self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> args{"slirp4netns"};
    std::string current;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == 0) {
            args.push_back(current);
            current.clear();
        } else {
            current.push_back(static_cast<char>(data[i]));
        }
    }
    if (size > 0) args.push_back(current);

    Options o;
    std::string error;
    bool parsed = parse_options(args, &o, &error);
    // Errors quote the offending word as given; the daemon's log_error makes
    // them one printable line (crash-newline-in-error, replayed by
    // fuzz-smoke.sh against the binary).
    if (!parsed) return 0;
    if (o.action != Action::Run) return 0;
    check(o.mtu >= 68 && o.mtu <= 65521, "MTU out of range");
    check(!o.enable_ipv6 || o.mtu >= 1280, "IPv6 with a small MTU");
    check(!o.tap_name.empty() && o.tap_name.size() < 16, "tap name length");
    check(!o.mac || o.configure, "MAC without --configure");
    check(!o.cidr6_given || o.enable_ipv6, "IPv6 prefix without -6");
    const uint8_t* p6 = o.network6.prefix.s6_addr;
    check(
        o.network6.prefix_len == 64 && p6[0] != 0xff && !(p6[0] == 0xfe && (p6[1] & 0xc0) == 0x80),
        "IPv6 prefix not a unicast /64");
    for (int i = 8; i < 16; i++) check(p6[i] == 0, "IPv6 prefix with host bits");
    check(o.network6.gateway.s6_addr[15] == 2 && o.network6.dns.s6_addr[15] == 3,
          "IPv6 gateway or DNS not ::2 / ::3");
    if (o.target_type == TargetType::Netns) {
        if (o.netns_type == NetnsType::Pid) check(o.target_pid > 0, "PID not positive");
        if (o.netns_type == NetnsType::TapFd) check(o.tap_fd >= 0, "tap fd negative");
        if (o.netns_type == NetnsType::Path) check(!o.target.empty(), "empty netns path");
    } else {
        check(!o.configure, "bess with --configure");
    }
    // The help text must build for any program name.
    (void)help_text(args.size() > 1 ? args[1] : args[0]);
    return 0;
}
