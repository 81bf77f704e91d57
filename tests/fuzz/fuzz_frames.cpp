// SPDX-License-Identifier: GPL-2.0-or-later
// fuzz_frames.cpp: libFuzzer target for the frame path from the guest into
// libslirp: the daemon's own PacketPath (packet_path.hpp, with its fences),
// its libslirp glue and its event loop, on a clock of the harness's own. A fresh path per
// input, configured by build_slirp_settings from options as the daemon's
// defaults set them, gets every frame of the input through from_guest() (the
// same call a tap read or a BESS message makes), then its loop runs once per
// frame and twice more, far later, so that state the frames created (sockets,
// timers, reassembly) is exercised.
//
// Input: byte 0 selects options (bit 0 IPv6, bit 1 a small MTU, bit 2
// disable-dns, bit 3 disable-host-loopback, bit 4 the kernel UDP path,
// kernel_udp.hpp, in front of libslirp); the rest is frames, each a
// big-endian 16-bit length and that many bytes (fewer if the input ends:
// truncated frames are the point). Frames longer than the daemon's read
// buffer are cut as read() would cut them. What libslirp answers goes to a
// socketpair standing for a BESS client, read back and dropped.
//
// libslirp opens real sockets for what the frames ask (TCP to the gateway is
// connect() to the host's loopback, UDP is sendto() anywhere), so this
// refuses to run unless its network namespace holds nothing but loopback:
// run it as `unshare --net fuzz_frames ...` (tests/fuzz/run.sh does).
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "kernel_udp.hpp"
#include "options.hpp"
#include "packet_path.hpp"
#include "slirp_stack.hpp"
#include "stats.hpp"

namespace {

constexpr size_t kReadBuffer = 65536 + 64;  // the daemon's frame buffer size

int64_t now_ns = 0;
int64_t harness_clock() {
    return now_ns;
}

// Empties the guest's end of the device: what libslirp sent.
void drain(int fd) {
    uint8_t sink[kReadBuffer];
    while (read(fd, sink, sizeof sink) > 0) {
    }
}

bool only_loopback() {
    std::ifstream dev("/proc/self/net/dev");
    std::string line;
    int interfaces = 0;
    bool others = false;
    while (std::getline(dev, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        interfaces++;
        std::string name = line.substr(0, colon);
        name.erase(0, name.find_first_not_of(' '));
        if (name != "lo") others = true;
    }
    return interfaces > 0 && !others;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (!only_loopback()) {
        std::fprintf(stderr,
                     "fuzz_frames: refusing to run: this network namespace has interfaces "
                     "besides lo (run it under `unshare --net`)\n");
        std::exit(1);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    uint8_t flags = data[0];
    Options options;
    options.enable_ipv6 = (flags & 1) != 0;
    options.mtu = (flags & 2) ? 1280 : 1500;
    options.disable_dns = (flags & 4) != 0;
    options.disable_host_loopback = (flags & 8) != 0;

    now_ns = 1'000'000'000;
    EventLoop loop(&harness_clock);
    Stats stats;
    PacketPath path(loop, stats);
    SlirpSettings settings;
    std::string error;
    if (!build_slirp_settings(options, &settings, &error) || !path.start(settings.config, &error))
        std::abort();
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0)
        std::abort();
    UniqueFd guest(pair[1]);
    if (!path.attach_device(UniqueFd(pair[0]), "fuzz", PacketPath::Device::Bess, &error))
        std::abort();
    loop.set_cycle_source(&path.stack());
    std::unique_ptr<KernelUdpPath> udp;
    if (flags & 16) {
        KernelUdpPath::Settings u;
        u.scope = kernel_path_scope(options);
        u.mtu = options.mtu;
        udp = std::make_unique<KernelUdpPath>(loop, u, path);
        path.set_kernel_udp(udp.get());
    }

    size_t pos = 1;
    std::vector<uint8_t> frame;
    while (pos < size) {
        size_t want = data[pos];
        if (pos + 1 < size) want = (want << 8) | data[pos + 1];
        pos += 2;
        size_t have = pos < size ? std::min(want, size - pos) : 0;
        // An exact-size heap copy: any read past the frame is an ASan report.
        frame.assign(data + pos, data + pos + have);
        pos += have;
        if (frame.size() > kReadBuffer) frame.resize(kReadBuffer);
        frame.shrink_to_fit();
        path.from_guest(frame.data(), frame.size(), nullptr);
        drain(guest.get());
        now_ns += 100'000'000;
        loop.run_once();
    }

    // Let the sockets and timers the frames created run once, then far later.
    for (int round = 0; round < 2; round++) {
        loop.run_once();
        drain(guest.get());
        now_ns += 300'000'000'000;  // past the kernel UDP path's idle timeout too
    }
    path.set_kernel_udp(nullptr);
    return 0;
}
