// SPDX-License-Identifier: GPL-2.0-or-later
// test_kernel_udp.cpp: the kernel UDP path (kernel_udp.hpp): parsing and
// checking a guest's datagram, which datagrams it takes, the frames and
// ICMP errors it builds for the guest, and, on a test clock, its bound of
// flows, its idle expiry, the guest ports slirp-mode forwards own and the
// runs of replies it sends as one GSO frame (with real sockets on the
// host's loopback).
#include <arpa/inet.h>
#include <netinet/udp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "checksum.hpp"
#include "event_loop.hpp"
#include "kernel_udp.hpp"
#include "options.hpp"
#include "unique_fd.hpp"
#include "vnet.hpp"
#include "wire.hpp"

#include "cmocka.hpp"

namespace {

using Frame = std::vector<uint8_t>;

const uint8_t kGuestMac[6] = {0x02, 0, 0, 0, 0, 0x64};
const uint8_t kGatewayMac[6] = {0x52, 0x55, 10, 0, 2, 2};

// The default network (10.0.2.0/24, fd00::/64) with IPv6 on.
KernelPathScope scope() {
    Options o;
    o.enable_ipv6 = true;
    return kernel_path_scope(o);
}

std::vector<uint8_t> addr(const char* text) {
    std::vector<uint8_t> a(16, 0);
    if (inet_pton(AF_INET, text, a.data()) == 1)
        a.resize(4);
    else
        assert_int_equal(inet_pton(AF_INET6, text, a.data()), 1);
    return a;
}

// A datagram from the guest, built with the path's own builder (to the
// gateway's MAC, from the guest's), its checksum checked by the tests below.
Frame guest_datagram(const char* src, uint16_t sport, const char* dst, uint16_t dport,
                     const std::string& payload) {
    auto s = addr(src), d = addr(dst);
    int family = s.size() == 4 ? AF_INET : AF_INET6;
    size_t headroom = udp_frame_headroom(family);
    Frame f(headroom + payload.size());
    std::memcpy(f.data() + headroom, payload.data(), payload.size());
    uint8_t* start = build_udp_frame(f.data() + headroom, payload.size(), family, kGatewayMac,
                                     kGuestMac, s.data(), sport, d.data(), dport);
    assert_ptr_equal(start, f.data());
    return f;
}

bool serves(const Frame& f, const KernelPathScope& s = scope()) {
    UdpDatagram d;
    return parse_udp_frame(f.data(), f.size(), &d) && kernel_udp_serves(s, d);
}

void parses_and_checks(void**) {
    Frame f = guest_datagram("10.0.2.100", 5000, "192.0.2.254", 7000, "hello");
    UdpDatagram d;
    assert_true(parse_udp_frame(f.data(), f.size(), &d));
    assert_int_equal(d.family, AF_INET);
    assert_int_equal(d.sport, 5000);
    assert_int_equal(d.dport, 7000);
    assert_int_equal(d.payload_len, 5);
    assert_memory_equal(f.data() + d.payload, "hello", 5);
    assert_memory_equal(d.dst.data(), addr("192.0.2.254").data(), 4);
    // Ethernet padding after the datagram is not payload.
    Frame padded = f;
    padded.resize(f.size() + 20, 0);
    assert_true(parse_udp_frame(padded.data(), padded.size(), &d));
    assert_int_equal(d.payload_len, 5);
    // A wrong checksum: libslirp's to drop.
    Frame bad = f;
    bad.back() ^= 1;
    assert_false(parse_udp_frame(bad.data(), bad.size(), &d));
    // ... unless the guest's kernel left it partial: then it is not looked at.
    assert_true(parse_udp_frame(bad.data(), bad.size(), &d, false));
    // IPv4 may leave the checksum out.
    Frame none = f;
    store16(none.data() + 14 + 20 + 6, 0);
    none.back() ^= 1;
    assert_true(parse_udp_frame(none.data(), none.size(), &d));
    // A fragment, a truncated frame, a UDP length beyond the packet: not ours.
    Frame frag = f;
    store16(frag.data() + 14 + 6, 0x2000);
    set_ipv4_checksum(frag.data() + 14, 20);
    assert_false(parse_udp_frame(frag.data(), frag.size(), &d));
    assert_false(parse_udp_frame(f.data(), f.size() - 1, &d));
    Frame longer = f;
    store16(longer.data() + 14 + 20 + 4, 200);
    assert_false(parse_udp_frame(longer.data(), longer.size(), &d));

    Frame v6 = guest_datagram("fd00::100", 5000, "2001:db8::fe", 7000, "hello6");
    assert_true(parse_udp_frame(v6.data(), v6.size(), &d));
    assert_int_equal(d.family, AF_INET6);
    assert_int_equal(d.payload_len, 6);
    // IPv6 must carry a checksum.
    store16(v6.data() + 14 + 40 + 6, 0);
    assert_false(parse_udp_frame(v6.data(), v6.size(), &d));
}

// A partial checksum, completed as the guest's kernel would, is the full one.
void partial_checksums_complete(void**) {
    for (const char* dst : {"10.0.2.100", "fd00::100"}) {
        auto s = addr(dst[0] == 'f' ? "2001:db8::fe" : "192.0.2.254"), d = addr(dst);
        int family = d.size() == 4 ? AF_INET : AF_INET6;
        size_t headroom = udp_frame_headroom(family);
        std::string payload(1201, 'p');
        Frame f(headroom + payload.size());
        std::memcpy(f.data() + headroom, payload.data(), payload.size());
        build_udp_frame(f.data() + headroom, payload.size(), family, kGuestMac, kGatewayMac,
                        s.data(), 7000, d.data(), 5000, true);
        UdpDatagram parsed;
        assert_false(parse_udp_frame(f.data(), f.size(), &parsed));
        VnetHeader h = udp_partial_header(family);
        assert_int_equal(h.flags, kVnetNeedsCsum);
        assert_true(vnet_complete_checksum(f.data(), f.size(), h.csum_start, h.csum_offset));
        assert_true(parse_udp_frame(f.data(), f.size(), &parsed));
        assert_int_equal(parsed.payload_len, payload.size());
    }
}

void takes_outside_and_gateway_only(void**) {
    assert_true(serves(guest_datagram("10.0.2.100", 1, "192.0.2.254", 7000, "x")));
    assert_true(serves(guest_datagram("10.0.2.100", 1, "10.0.2.2", 7000, "x")));
    // libslirp's own: DHCP and TFTP on the gateway, DNS and other
    // in-network addresses, broadcast, multicast, loopback, link-local.
    assert_false(serves(guest_datagram("10.0.2.100", 68, "10.0.2.2", 67, "x")));
    assert_false(serves(guest_datagram("10.0.2.100", 1, "10.0.2.2", 69, "x")));
    assert_false(serves(guest_datagram("10.0.2.100", 1, "10.0.2.3", 53, "x")));
    assert_false(serves(guest_datagram("10.0.2.100", 1, "10.0.2.50", 7000, "x")));
    assert_false(serves(guest_datagram("10.0.2.100", 1, "255.255.255.255", 7000, "x")));
    assert_false(serves(guest_datagram("10.0.2.100", 1, "224.0.0.251", 5353, "x")));
    assert_false(serves(guest_datagram("10.0.2.100", 1, "127.0.0.1", 7000, "x")));
    assert_false(serves(guest_datagram("10.0.2.100", 1, "169.254.1.1", 7000, "x")));
    assert_false(serves(guest_datagram("0.0.0.0", 68, "192.0.2.254", 67, "x")));
    KernelPathScope no_loopback = scope();
    no_loopback.host_loopback = false;
    assert_false(serves(guest_datagram("10.0.2.100", 1, "10.0.2.2", 7000, "x"), no_loopback));
    assert_true(serves(guest_datagram("10.0.2.100", 1, "192.0.2.254", 7000, "x"), no_loopback));

    assert_true(serves(guest_datagram("fd00::100", 1, "2001:db8::fe", 7000, "x")));
    assert_true(serves(guest_datagram("fd00::100", 1, "fd00::2", 7000, "x")));
    assert_false(serves(guest_datagram("fd00::100", 546, "fd00::2", 547, "x")));
    assert_false(serves(guest_datagram("fe80::1", 1, "2001:db8::fe", 7000, "x")));
    assert_false(serves(guest_datagram("fd00::100", 1, "ff02::1:2", 547, "x")));
    assert_false(serves(guest_datagram("fd00::100", 1, "fd00::3", 53, "x")));
    KernelPathScope v4_only = scope();
    v4_only.ipv6 = false;
    assert_false(serves(guest_datagram("fd00::100", 1, "2001:db8::fe", 7000, "x"), v4_only));
}

bool icmp_checksum_valid(const uint8_t* frame, size_t len, bool v6) {
    size_t ip = v6 ? 40 : 20;
    uint64_t sum = 0;
    size_t message = len - 14 - ip;
    if (v6) {
        sum = checksum_sum(frame + 14 + 8, 32);
        uint8_t tail[4] = {0, kProtoIcmp6, static_cast<uint8_t>(message >> 8),
                           static_cast<uint8_t>(message)};
        sum = checksum_sum(tail, 4, sum);
    }
    return checksum_fold(checksum_sum(frame + 14 + ip, message, sum)) == 0xffff;
}

void builds_icmp_errors(void**) {
    auto gw = addr("10.0.2.2"), guest = addr("10.0.2.100"), dst = addr("192.0.2.254");
    UdpErrorFrame e;
    e.family = AF_INET;
    e.type = 3;
    e.code = 3;
    e.guest_mac = kGuestMac;
    e.gateway_mac = kGatewayMac;
    e.from = gw.data();
    e.guest = guest.data();
    e.guest_port = 5000;
    e.dst = dst.data();
    e.dport = 7999;
    const char payload[] = "anyone?";
    e.payload = reinterpret_cast<const uint8_t*>(payload);
    e.payload_len = e.payload_known = 7;
    uint8_t out[kUdpErrorFrameSize];
    size_t n = build_udp_error(e, out);
    assert_int_equal(n, 14 + 20 + 8 + 20 + 8 + 7);
    assert_memory_equal(out, kGuestMac, 6);
    assert_memory_equal(out + 6, kGatewayMac, 6);
    const uint8_t* ip = out + 14;
    assert_int_equal(ip[9], kProtoIcmp);
    assert_memory_equal(ip + 12, gw.data(), 4);
    assert_memory_equal(ip + 16, guest.data(), 4);
    assert_int_equal(checksum_fold(checksum_sum(ip, 20)), 0xffff);
    assert_true(icmp_checksum_valid(out, n, false));
    const uint8_t* icmp = ip + 20;
    assert_int_equal(icmp[0], 3);
    assert_int_equal(icmp[1], 3);
    // The quoted datagram as the guest sent it.
    const uint8_t* q = icmp + 8;
    assert_int_equal(q[9], 17);
    assert_memory_equal(q + 12, guest.data(), 4);
    assert_memory_equal(q + 16, dst.data(), 4);
    assert_int_equal(load16(q + 20), 5000);
    assert_int_equal(load16(q + 22), 7999);
    assert_memory_equal(q + 28, payload, 7);

    auto gw6 = addr("fd00::2"), guest6 = addr("fd00::100"), dst6 = addr("2001:db8::fe");
    e.family = AF_INET6;
    e.type = 1;
    e.code = 4;
    e.from = gw6.data();
    e.guest = guest6.data();
    e.dst = dst6.data();
    // More than the quote holds: cut.
    std::string big(200, 'q');
    e.payload = reinterpret_cast<const uint8_t*>(big.data());
    e.payload_len = e.payload_known = big.size();
    n = build_udp_error(e, out);
    assert_int_equal(n, 14 + 40 + 8 + 40 + 8 + kUdpErrorQuote);
    assert_int_equal(out[14 + 6], kProtoIcmp6);
    assert_true(icmp_checksum_valid(out, n, true));
    const uint8_t* q6 = out + 14 + 40 + 8;
    assert_memory_equal(q6 + 8, guest6.data(), 16);
    assert_memory_equal(q6 + 24, dst6.data(), 16);
    assert_int_equal(load16(q6 + 40), 5000);
    assert_int_equal(load16(q6 + 42), 7999);
}

// The test clock, in nanoseconds.
int64_t now_ns = 1'000'000'000;
int64_t test_clock() {
    return now_ns;
}

class Collect : public GuestOutput {
   public:
    void send_to_guest(const uint8_t* frame, size_t len) override {
        frames.emplace_back(frame, frame + len);
    }
    void send_with_header(const VnetHeader&, const uint8_t* frame, size_t len) override {
        send_to_guest(frame, len);
    }
    // Keeps the GSO frame (headers, then the payloads) and each segment's
    // own frame; refuses them when told to, as a device might.
    bool send_segments(const VnetHeader& header, const uint8_t* headers, size_t header_len,
                       const iovec* segments, size_t count) override {
        if (refuse_segments) return false;
        Run run{header, Frame(headers, headers + header_len), {}};
        for (size_t i = 0; i < count; i++) {
            const auto* p = static_cast<const uint8_t*>(segments[i].iov_base);
            run.whole.insert(run.whole.end(), p + header_len, p + segments[i].iov_len);
            run.segments.emplace_back(p, p + segments[i].iov_len);
        }
        runs.push_back(std::move(run));
        return true;
    }
    struct Run {
        VnetHeader header;
        Frame whole;
        std::vector<Frame> segments;
    };
    std::vector<Frame> frames;
    std::vector<Run> runs;
    bool refuse_segments = false;
};

// A UDP socket on the host's loopback, and its port.
UniqueFd loopback_socket(uint16_t* port, int family = AF_INET) {
    UniqueFd fd(socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_storage a{};
    a.ss_family = static_cast<sa_family_t>(family);
    if (family == AF_INET)
        reinterpret_cast<sockaddr_in&>(a).sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else
        reinterpret_cast<sockaddr_in6&>(a).sin6_addr = in6addr_loopback;
    socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    assert_int_equal(bind(fd.get(), reinterpret_cast<sockaddr*>(&a), len), 0);
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
    *port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in&>(a).sin_port
                                    : reinterpret_cast<sockaddr_in6&>(a).sin6_port);
    timeval tv{2, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

// The path under test, on the test clock, with its output collected, and a
// UDP socket on the host's loopback (server, at port) for it to talk to.
struct PathUnderTest {
    explicit PathUnderTest(const KernelUdpPath::Settings& s = settings()) : path(loop, s, out) {}
    static KernelUdpPath::Settings settings() {
        KernelUdpPath::Settings s;
        s.scope = scope();
        return s;
    }
    EventLoop loop{&test_clock};
    Collect out;
    KernelUdpPath path;
    uint16_t port = 0;
    UniqueFd server = loopback_socket(&port);
};

void relays_bounds_and_expires(void**) {
    KernelUdpPath::Settings s = PathUnderTest::settings();
    s.max_flows = 2;
    s.idle_ms = 240 * 1000;
    PathUnderTest t(s);
    auto& [loop, out, path, port, server] = t;

    // To the gateway: the host's loopback gets it, from the flow's socket.
    Frame f = guest_datagram("10.0.2.100", 5000, "10.0.2.2", port, "ping");
    assert_true(path.from_guest(f.data(), f.size()));
    char buf[64];
    sockaddr_in peer{};
    socklen_t peer_len = sizeof peer;
    ssize_t n =
        recvfrom(server.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(path.counters().flows, 1);

    // The answer reaches the guest from the gateway, to the guest's port.
    assert_int_equal(
        sendto(server.get(), "pong", 4, 0, reinterpret_cast<sockaddr*>(&peer), peer_len), 4);
    for (int i = 0; i < 50 && out.frames.empty(); i++) {
        loop.run_once();
        if (out.frames.empty()) usleep(10000);
    }
    assert_int_equal(out.frames.size(), 1);
    UdpDatagram d;
    const Frame& reply = out.frames[0];
    assert_true(parse_udp_frame(reply.data(), reply.size(), &d));
    assert_memory_equal(d.src.data(), addr("10.0.2.2").data(), 4);
    assert_memory_equal(d.dst.data(), addr("10.0.2.100").data(), 4);
    assert_int_equal(d.sport, port);
    assert_int_equal(d.dport, 5000);
    assert_memory_equal(reply.data() + d.payload, "pong", 4);
    assert_memory_equal(reply.data(), kGuestMac, 6);
    assert_memory_equal(reply.data() + 6, kGatewayMac, 6);
    assert_int_equal(path.counters().datagrams_to_guest, 1);

    // Another destination from the same guest port: the same socket.
    Frame again = guest_datagram("10.0.2.100", 5000, "10.0.2.2", port, "again");
    assert_true(path.from_guest(again.data(), again.size()));
    sockaddr_in peer2{};
    peer_len = sizeof peer2;
    assert_int_equal(
        recvfrom(server.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer2), &peer_len),
        5);
    assert_int_equal(peer2.sin_port, peer.sin_port);

    // Two more guest ports: the bound of two ends the least recently used.
    Frame second = guest_datagram("10.0.2.100", 5001, "10.0.2.2", port, "b");
    Frame third = guest_datagram("10.0.2.100", 5002, "10.0.2.2", port, "c");
    now_ns += 1'000'000'000;
    assert_true(path.from_guest(second.data(), second.size()));
    now_ns += 1'000'000'000;
    assert_true(path.from_guest(third.data(), third.size()));
    assert_int_equal(path.counters().flows, 2);

    // A slirp-mode forward owns its guest port: its flow ends and its
    // datagrams go to libslirp, until the forward goes.
    path.slirp_forward(5002, true);
    assert_int_equal(path.counters().flows, 1);
    assert_false(path.from_guest(third.data(), third.size()));
    path.slirp_forward(5002, false);
    assert_true(path.from_guest(third.data(), third.size()));
    assert_int_equal(path.counters().flows, 2);

    // Idle for libslirp's 240 s: every flow ends, on the loop's clock.
    now_ns += 238LL * 1'000'000'000;
    loop.run_once();
    assert_int_equal(path.counters().flows, 2);
    now_ns += 2LL * 1'000'000'000;
    loop.run_once();
    assert_int_equal(path.counters().flows, 0);
    assert_int_equal(path.counters().datagrams_from_guest, 5);
}

// A UDP GSO frame from the guest (its UDP length covering all of it): one
// send that the host cuts into the guest's datagrams, each counted.
void sends_gso_frames_whole(void**) {
    PathUnderTest t;
    auto& [loop, out, path, port, server] = t;
    std::string payload(2500, '\0');
    for (size_t i = 0; i < payload.size(); i++) payload[i] = static_cast<char>('a' + i % 26);
    Frame f = guest_datagram("10.0.2.100", 5000, "10.0.2.2", port, payload);
    assert_true(path.from_guest(f.data(), f.size(), true, 1000));
    for (size_t off = 0; off < payload.size(); off += 1000) {
        char buf[4096];
        ssize_t n = recv(server.get(), buf, sizeof buf, 0);
        size_t want = std::min<size_t>(1000, payload.size() - off);
        assert_int_equal(n, want);
        assert_memory_equal(buf, payload.data() + off, want);
    }
    assert_int_equal(path.counters().datagrams_from_guest, 3);
    assert_int_equal(path.counters().bytes_from_guest, 2500);
    assert_int_equal(path.counters().dropped, 0);
    // No more than the segment size: one datagram.
    Frame small = guest_datagram("10.0.2.100", 5000, "10.0.2.2", port, "short");
    assert_true(path.from_guest(small.data(), small.size(), true, 1000));
    char buf[64];
    assert_int_equal(recv(server.get(), buf, sizeof buf, 0), 5);
    assert_int_equal(path.counters().datagrams_from_guest, 4);
}

// Datagrams from frames within the gathering region (a ring's memory) wait,
// and a run of one flow's of one size to one destination goes in one send,
// which the host cuts into those datagrams; one outside the region goes at
// once.
void gathers_runs_into_one_send(void**) {
    PathUnderTest t;
    auto& [loop, out, path, port, server] = t;
    std::vector<uint8_t> ring(64 * 1024);
    path.gather_within(ring.data(), ring.data() + ring.size());
    size_t used = 0;
    auto offer = [&](uint16_t sport, const std::string& payload) {
        Frame f = guest_datagram("10.0.2.100", sport, "10.0.2.2", port, payload);
        std::memcpy(ring.data() + used, f.data(), f.size());
        assert_true(path.from_guest(ring.data() + used, f.size()));
        used += f.size();
    };
    std::vector<std::string> sent;
    for (char c : std::string("abcd")) sent.push_back(std::string(1000, c));
    sent.push_back(std::string(600, 'e'));  // shorter: the run's last
    for (const std::string& p : sent) offer(5000, p);
    char buf[4096];
    assert_int_equal(recv(server.get(), buf, sizeof buf, MSG_DONTWAIT), -1);  // all wait
    // Another flow ends that run (sent now) and starts its own.
    offer(5001, std::string(1000, 'f'));
    offer(5001, std::string(1000, 'g'));
    Frame outside = guest_datagram("10.0.2.100", 5002, "10.0.2.2", port, "now");
    assert_true(path.from_guest(outside.data(), outside.size()));
    path.send_gathered();
    sent.push_back(std::string(1000, 'f'));
    sent.push_back(std::string(1000, 'g'));
    std::vector<std::string> got;
    for (size_t i = 0; i < sent.size() + 1; i++) {
        ssize_t n = recv(server.get(), buf, sizeof buf, 0);
        assert_true(n >= 0);
        got.emplace_back(buf, static_cast<size_t>(n));
    }
    // 5000's run, then the datagram from outside, then 5001's run.
    assert_string_equal(got[5].c_str(), "now");
    got.erase(got.begin() + 5);
    assert_true(got == sent);
    assert_int_equal(path.counters().runs_from_guest, 2);
    assert_int_equal(path.counters().datagrams_from_guest, 8);
    assert_int_equal(path.counters().dropped, 0);
    // An empty datagram cannot join a run: it goes after the one waiting.
    offer(5003, std::string(1000, 'h'));
    offer(5003, std::string(1000, 'i'));
    offer(5003, "");
    for (char c : std::string("hi")) {
        ssize_t n = recv(server.get(), buf, sizeof buf, 0);
        assert_int_equal(n, 1000);
        assert_int_equal(buf[0], c);
    }
    assert_int_equal(recv(server.get(), buf, sizeof buf, 0), 0);
}

// Half the descriptor limit at most, whatever max_flows says.
void flows_stay_below_half_the_descriptors(void**) {
    rlimit saved{};
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit low = saved;
    low.rlim_cur = 200;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    {
        PathUnderTest t;
        auto& [loop, out, path, port, server] = t;
        for (uint16_t guest_port = 1000; guest_port < 1150; guest_port++) {
            Frame f = guest_datagram("10.0.2.100", guest_port, "10.0.2.2", port, "x");
            assert_true(path.from_guest(f.data(), f.size()));
        }
        assert_int_equal(path.counters().flows, 100);
        assert_int_equal(path.counters().dropped, 0);
    }
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

// The checksum field of a segment the guest's kernel cuts from a GSO frame
// (__udp_gso_segment): the whole's, its UDP length swapped for the
// segment's, in one's complement.
uint16_t segment_check(uint16_t whole_check, uint16_t whole_len, uint16_t segment_len) {
    uint32_t sum = whole_check + static_cast<uint16_t>(~whole_len);
    sum = (sum & 0xffff) + (sum >> 16);
    sum += segment_len;
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

// Sends sizes[i] bytes from each socket in turn (payload bytes numbered by
// datagram), then lets the path read them all in one batch.
void replies_in_one_batch(EventLoop& loop, KernelUdpPath& path, const char* guest,
                          const char* gateway, int family, const std::vector<int>& fds,
                          const std::vector<size_t>& sizes, Collect& out) {
    uint16_t port;
    UniqueFd server = loopback_socket(&port, family);
    Frame f = guest_datagram(guest, 5000, gateway, port, "hello");
    assert_true(path.from_guest(f.data(), f.size()));
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    char buf[64];
    assert_int_equal(
        recvfrom(server.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &peer_len),
        5);
    for (size_t i = 0; i < sizes.size(); i++) {
        Frame payload(sizes[i], static_cast<uint8_t>(i + 1));
        int fd = fds[i] < 0 ? server.get() : fds[i];
        assert_int_equal(sendto(fd, payload.data(), payload.size(), 0,
                                reinterpret_cast<sockaddr*>(&peer), peer_len),
                         static_cast<ssize_t>(payload.size()));
    }
    for (int i = 0; i < 50 && out.frames.empty() && out.runs.empty(); i++) {
        loop.run_once();
        if (out.frames.empty() && out.runs.empty()) usleep(10000);
    }
}

// Where the device takes virtio-net headers, a batch's replies from one
// peer of one size (the last shorter) go as one GSO frame that the guest's
// kernel cuts back into exactly those datagrams; a longer one, another
// peer, or a device that refuses such frames start anew.
void runs_go_as_one_frame(void**) {
    for (int family : {AF_INET, AF_INET6}) {
        bool v6 = family == AF_INET6;
        const char* guest = v6 ? "fd00::100" : "10.0.2.100";
        const char* gateway = v6 ? "fd00::2" : "10.0.2.2";
        for (bool refuse : {false, true}) {
            KernelUdpPath::Settings s = PathUnderTest::settings();
            s.partial_checksums = true;
            PathUnderTest t(s);
            auto& [loop, out, path, port, server] = t;
            out.refuse_segments = refuse;
            uint16_t other_port;
            UniqueFd other = loopback_socket(&other_port, family);
            // Four of 1000 and a last of 300; two of 1000; one from another
            // peer; a 0-byte one, which a GSO frame cannot carry, and two
            // more, the second longer.
            std::vector<size_t> sizes{1000, 1000, 1000, 1000, 300, 1000, 1000, 1000, 0, 500, 600};
            std::vector<int> fds(sizes.size(), -1);
            fds[7] = other.get();
            replies_in_one_batch(loop, path, guest, gateway, family, fds, sizes, out);
            size_t headroom = udp_frame_headroom(family);
            // The datagrams the guest gets, in order, whichever way.
            std::vector<Frame> got;
            if (refuse) {
                assert_int_equal(out.runs.size(), 0);
                got = out.frames;
                assert_int_equal(path.counters().gso_frames_to_guest, 0);
            } else {
                assert_int_equal(out.runs.size(), 2);
                assert_int_equal(out.frames.size(), 4);
                assert_int_equal(path.counters().gso_frames_to_guest, 2);
                for (size_t r = 0; r < 2; r++) {
                    const Collect::Run& run = out.runs[r];
                    size_t count = r == 0 ? 5 : 2, bytes = r == 0 ? 4300 : 2000;
                    assert_int_equal(run.segments.size(), count);
                    assert_int_equal(run.header.flags, kVnetNeedsCsum);
                    assert_int_equal(run.header.gso_type, kVnetGsoUdpL4);
                    assert_int_equal(run.header.gso_size, 1000);
                    assert_int_equal(run.header.hdr_len, headroom);
                    assert_int_equal(run.header.csum_start, headroom - 8);
                    assert_int_equal(run.header.csum_offset, 6);
                    // The whole: one datagram's headers over all the bytes.
                    const Frame& w = run.whole;
                    assert_int_equal(w.size(), headroom + bytes);
                    assert_int_equal(load16(w.data() + (v6 ? 18 : 16)), bytes + 8 + (v6 ? 0 : 20));
                    const uint8_t* uh = w.data() + headroom - 8;
                    assert_int_equal(load16(uh + 4), bytes + 8);
                    if (!v6)
                        assert_int_equal(checksum_fold(checksum_sum(w.data() + 14, 20)), 0xffff);
                    // Cut as the kernel cuts: each piece is the segment's
                    // own frame, whose partial checksum completes right.
                    size_t at = headroom;
                    for (size_t i = 0; i < count; i++) {
                        Frame seg = run.segments[i];
                        size_t n = seg.size() - headroom;
                        assert_true(n == 1000 || i == count - 1);
                        assert_memory_equal(seg.data() + headroom, w.data() + at, n);
                        at += n;
                        const uint8_t* su = seg.data() + headroom - 8;
                        assert_int_equal(load16(su + 4), n + 8);
                        assert_memory_equal(su, uh, 4);  // ports
                        assert_int_equal(load16(su + 6),
                                         segment_check(load16(uh + 6), load16(uh + 4), n + 8));
                        assert_true(
                            vnet_complete_checksum(seg.data(), seg.size(), headroom - 8, 6));
                        UdpDatagram d;
                        assert_true(parse_udp_frame(seg.data(), seg.size(), &d));
                        got.push_back(seg);
                    }
                }
                // The rest one by one: the other peer's, the empty one,
                // and 500 then 600 (a longer one cannot follow).
                got.insert(got.begin() + 7, out.frames.begin(), out.frames.end());
            }
            assert_int_equal(got.size(), sizes.size());
            for (size_t i = 0; i < sizes.size(); i++) {
                Frame& g = got[i];
                // Each checksum as the guest's kernel completes it.
                if (refuse || i >= 7)
                    assert_true(vnet_complete_checksum(g.data(), g.size(), headroom - 8, 6));
                UdpDatagram d;
                assert_true(parse_udp_frame(g.data(), g.size(), &d));
                assert_int_equal(d.payload_len, sizes[i]);
                assert_int_equal(d.dport, 5000);
                if (sizes[i]) assert_int_equal(g[d.payload], i + 1);
                assert_int_equal(d.sport == other_port, i == 7);
            }
            assert_int_equal(path.counters().datagrams_to_guest, sizes.size());
        }
    }
}

// A host peer's GSO write (UDP_SEGMENT) reaches the path's socket whole
// (UDP_GRO): it goes on as one frame the guest's kernel cuts at the
// datagram size, or, where the device refuses that, one datagram at a time.
void gso_writes_go_on_whole(void**) {
    for (bool refuse : {false, true}) {
        KernelUdpPath::Settings s = PathUnderTest::settings();
        s.partial_checksums = true;
        PathUnderTest t(s);
        auto& [loop, out, path, port, server] = t;
        out.refuse_segments = refuse;
        Frame f = guest_datagram("10.0.2.100", 5000, "10.0.2.2", port, "hello");
        assert_true(path.from_guest(f.data(), f.size()));
        sockaddr_in peer{};
        socklen_t peer_len = sizeof peer;
        char buf[64];
        assert_int_equal(recvfrom(server.get(), buf, sizeof buf, 0,
                                  reinterpret_cast<sockaddr*>(&peer), &peer_len),
                         5);
        int segment = 1000;
        assert_int_equal(setsockopt(server.get(), SOL_UDP, UDP_SEGMENT, &segment, sizeof segment),
                         0);
        Frame payload(3500);
        for (size_t i = 0; i < payload.size(); i++) payload[i] = static_cast<uint8_t>(i / 1000 + 1);
        assert_int_equal(sendto(server.get(), payload.data(), payload.size(), 0,
                                reinterpret_cast<sockaddr*>(&peer), peer_len),
                         3500);
        for (int i = 0; i < 50 && out.frames.empty() && out.runs.empty(); i++) {
            loop.run_once();
            if (out.frames.empty() && out.runs.empty()) usleep(10000);
        }
        assert_int_equal(path.counters().datagrams_to_guest, 4);
        size_t headroom = udp_frame_headroom(AF_INET);
        if (!refuse) {
            assert_int_equal(out.runs.size(), 1);
            const Collect::Run& run = out.runs[0];
            assert_int_equal(run.header.gso_type, kVnetGsoUdpL4);
            assert_int_equal(run.header.gso_size, 1000);
            assert_int_equal(run.whole.size(), headroom + 3500);
            assert_memory_equal(run.whole.data() + headroom, payload.data(), 3500);
            assert_int_equal(load16(run.whole.data() + headroom - 4), 3508);
            assert_int_equal(path.counters().gso_frames_to_guest, 1);
            continue;
        }
        assert_int_equal(out.frames.size(), 4);
        for (size_t i = 0; i < 4; i++) {
            Frame& g = out.frames[i];
            assert_true(vnet_complete_checksum(g.data(), g.size(), headroom - 8, 6));
            UdpDatagram d;
            assert_true(parse_udp_frame(g.data(), g.size(), &d));
            assert_int_equal(d.payload_len, i < 3 ? 1000 : 500);
            assert_memory_equal(g.data() + d.payload, payload.data() + i * 1000, d.payload_len);
        }
    }
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(parses_and_checks),
        cmocka_unit_test(partial_checksums_complete),
        cmocka_unit_test(takes_outside_and_gateway_only),
        cmocka_unit_test(builds_icmp_errors),
        cmocka_unit_test(relays_bounds_and_expires),
        cmocka_unit_test(sends_gso_frames_whole),
        cmocka_unit_test(gathers_runs_into_one_send),
        cmocka_unit_test(flows_stay_below_half_the_descriptors),
        cmocka_unit_test(runs_go_as_one_frame),
        cmocka_unit_test(gso_writes_go_on_whole),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
