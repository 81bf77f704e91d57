// fuzz_frames.cpp: libFuzzer target for the frame path from the guest into
// libslirp (a tap read or a BESS message both hand the bytes as they came to
// slirp_input, through the daemon's own Ipv4Reassembly gate and fences). A fresh Slirp
// instance per input, configured the way the daemon configures it by default,
// gets every frame of the input, then its timers and poll cycle run so that
// state the frames created is exercised.
//
// Input: byte 0 selects options (bit 0 IPv6, bit 1 a small MTU, bit 2
// disable-dns, bit 3 disable-host-loopback); the rest is frames, each a
// big-endian 16-bit length and that many bytes (fewer if the input ends:
// truncated frames are the point). Frames longer than the daemon's read
// buffer are cut as read() would cut them.
//
// libslirp opens real sockets for what the frames ask (TCP to the gateway is
// connect() to the host's loopback, UDP is sendto() anywhere), so this
// refuses to run unless its network namespace holds nothing but loopback:
// run it as `unshare --net fuzz_frames ...` (tests/fuzz/run.sh does).
#include <libslirp.h>
#include <poll.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "ipv4_reassembly.hpp"
#include "network.hpp"
#include "urgent_data_fence.hpp"

namespace {

constexpr size_t kReadBuffer = 65536 + 64;  // the daemon's frame buffer size

struct Timer {
    SlirpTimerId id;
    void* cb_opaque;
    int64_t expire_ms;
};

struct Harness {
    int64_t now_ns = 1'000'000'000;
    std::vector<std::unique_ptr<Timer>> timers;
    std::vector<pollfd> fds;
    size_t frames_out = 0;
    size_t mtu = 1500;
};

Harness& self(void* opaque) {
    return *static_cast<Harness*>(opaque);
}

ssize_t send_packet(const void* buf, size_t len, void* opaque) {
    Harness& h = self(opaque);
    h.frames_out++;
    // Read every byte libslirp claims to send, so ASan sees an overread.
    volatile uint8_t sink = 0;
    const auto* p = static_cast<const uint8_t*>(buf);
    for (size_t i = 0; i < len; i++) sink = sink ^ p[i];
    (void)sink;
    return static_cast<ssize_t>(len);
}

void guest_error(const char*, void*) {}
int64_t clock_get_ns(void* opaque) {
    return self(opaque).now_ns;
}

void* timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
    auto t = std::make_unique<Timer>(Timer{id, cb_opaque, -1});
    Timer* raw = t.get();
    self(opaque).timers.push_back(std::move(t));
    return raw;
}

void timer_free(void* timer, void* opaque) {
    std::erase_if(self(opaque).timers, [timer](const auto& t) { return t.get() == timer; });
}

void timer_mod(void* timer, int64_t expire_ms, void*) {
    static_cast<Timer*>(timer)->expire_ms = expire_ms;
}

int add_poll(int fd, int events, void* opaque) {
    auto& fds = self(opaque).fds;
    fds.push_back({fd, static_cast<short>(events), 0});
    return static_cast<int>(fds.size() - 1);
}

// Every socket libslirp asked about reports what a dead network would: the
// error path of each is what gets exercised.
int get_revents(int idx, void* opaque) {
    const auto& fds = self(opaque).fds;
    if (idx < 0 || static_cast<size_t>(idx) >= fds.size()) return 0;
    return SLIRP_POLL_ERR | SLIRP_POLL_HUP;
}

void run_timers(Slirp* slirp, Harness& h) {
    int64_t now_ms = h.now_ns / 1'000'000;
    for (size_t i = 0; i < h.timers.size(); i++) {
        Timer& t = *h.timers[i];
        if (t.expire_ms < 0 || t.expire_ms > now_ms) continue;
        t.expire_ms = -1;
        slirp_handle_timer(slirp, t.id, t.cb_opaque);
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
    Harness h;
    h.mtu = (flags & 2) ? 1280 : 1500;

    Network net = default_network();
    Network6 net6 = default_network6();
    SlirpConfig c{};
    c.version = SLIRP_CONFIG_VERSION_MAX;
    c.in_enabled = true;
    c.vnetwork = net.address;
    c.vnetmask = net.netmask;
    c.vhost = net.gateway;
    c.in6_enabled = (flags & 1) != 0;
    c.vprefix_addr6 = net6.prefix;
    c.vprefix_len = static_cast<uint8_t>(net6.prefix_len);
    c.vhost6 = net6.gateway;
    c.vdhcp_start = net.dhcp_start;
    c.vnameserver = net.dns;
    c.vnameserver6 = net6.dns;
    c.if_mtu = h.mtu;
    c.if_mru = h.mtu;
    c.disable_dns = (flags & 4) != 0;
    c.disable_host_loopback = (flags & 8) != 0;

    SlirpCb cb{};
    cb.send_packet = send_packet;
    cb.guest_error = guest_error;
    cb.clock_get_ns = clock_get_ns;
    cb.timer_free = timer_free;
    cb.timer_mod = timer_mod;
    cb.register_poll_fd = [](int, void*) {};
    cb.unregister_poll_fd = [](int, void*) {};
    cb.notify = [](void*) {};
    cb.timer_new_opaque = timer_new_opaque;
    Slirp* slirp = slirp_new(&c, &cb, &h);
    if (!slirp) std::abort();

    size_t pos = 1;
    std::vector<uint8_t> frame;
    Ipv4Reassembly reassembly;
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
        reassembly.pass(
            frame.data(), frame.size(), [&] { return h.now_ns / 1'000'000; },
            [&](const uint8_t* p, size_t n) {
                std::vector<uint8_t> exact(p, p + n);  // as above
                exact.shrink_to_fit();
                urgent_data_fence(exact.data(), exact.size());
                slirp_input(slirp, exact.data(), static_cast<int>(n));
            });
        h.now_ns += 100'000'000;
        run_timers(slirp, h);
    }

    // Let the sockets and timers the frames created run once, then far later.
    for (int round = 0; round < 2; round++) {
        h.fds.clear();
        uint32_t timeout = UINT32_MAX;
        slirp_pollfds_fill(slirp, &timeout, add_poll, &h);
        slirp_pollfds_poll(slirp, 0, get_revents, &h);
        h.now_ns += 60'000'000'000;
        run_timers(slirp, h);
    }
    slirp_cleanup(slirp);
    return 0;
}
