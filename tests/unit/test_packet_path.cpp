// SPDX-License-Identifier: GPL-2.0-or-later
// test_packet_path.cpp: the daemon's real packet path (packet_path.hpp) and
// libslirp glue (slirp_stack.hpp) on a socketpair standing for a BESS
// client: a frame the "guest" writes reaches libslirp, whose answer comes
// back on the device, the sockets libslirp makes never block, and a device
// that closes stops the loop.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "checksum.hpp"
#include "event_loop.hpp"
#include "options.hpp"
#include "packet_capture.hpp"
#include "packet_path.hpp"
#include "slirp_stack.hpp"
#include "stats.hpp"
#include "unique_fd.hpp"

#include "cmocka.hpp"

namespace {

struct Fixture {
    EventLoop loop;
    Stats stats;
    PacketPath path{loop, stats};
    SlirpSettings settings;
    UniqueFd guest;  // the client's end of the device

    Fixture() {
        Options options;
        std::string error;
        if (!build_slirp_settings(options, &settings, &error) ||
            !path.start(settings.config, &error))
            fail_msg("start: %s", error.c_str());
        int pair[2];
        assert_int_equal(
            socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair), 0);
        guest.reset(pair[1]);
        assert_true(path.attach_device(UniqueFd(pair[0]), "test device", PacketPath::Device::Bess,
                                       nullptr));
        loop.set_cycle_source(&path.stack());
    }
};

// "Who has 10.0.2.2? Tell 10.0.2.100", padded to Ethernet's minimum.
std::vector<uint8_t> arp_request() {
    std::vector<uint8_t> f(60, 0);
    const uint8_t mac[] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    std::memset(f.data(), 0xff, 6);
    std::memcpy(f.data() + 6, mac, 6);
    f[12] = 0x08, f[13] = 0x06;
    const uint8_t arp[] = {0, 1, 8, 0, 6, 4, 0, 1};
    std::memcpy(f.data() + 14, arp, sizeof arp);
    std::memcpy(f.data() + 22, mac, 6);
    const uint8_t sender[] = {10, 0, 2, 100}, target[] = {10, 0, 2, 2};
    std::memcpy(f.data() + 28, sender, 4);
    std::memcpy(f.data() + 38, target, 4);
    return f;
}

void a_guest_frame_reaches_libslirp_and_is_answered(void**) {
    Fixture fx;
    std::vector<uint8_t> request = arp_request();
    assert_int_equal(write(fx.guest.get(), request.data(), request.size()),
                     static_cast<ssize_t>(request.size()));
    fx.loop.run_once();
    uint8_t reply[1500];
    ssize_t n = read(fx.guest.get(), reply, sizeof reply);
    assert_true(n >= 42);
    assert_int_equal(reply[12] << 8 | reply[13], 0x0806);  // ARP
    assert_int_equal(reply[20] << 8 | reply[21], 2);       // a reply
    const uint8_t gateway[] = {10, 0, 2, 2};
    assert_memory_equal(reply + 28, gateway, 4);        // from the gateway
    assert_memory_equal(reply, request.data() + 6, 6);  // to the guest's MAC
    assert_int_equal(fx.stats.frames_from_guest, 1);
    assert_int_equal(fx.stats.frames_to_guest, 1);
    assert_false(fx.loop.stopping());
}

// A UDP datagram 10.0.2.100:40000 -> 10.0.2.2:9 (the host's loopback),
// without a UDP checksum.
std::vector<uint8_t> udp_to_gateway() {
    std::vector<uint8_t> f = arp_request();
    f.resize(14 + 20 + 8 + 4);
    f[12] = 0x08, f[13] = 0x00;
    uint8_t* ip = f.data() + 14;
    const uint8_t header[] = {0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 2, 100, 10, 0, 2, 2};
    std::memcpy(ip, header, sizeof header);
    set_ipv4_checksum(ip, 20);
    const uint8_t udp[] = {0x9c, 0x40, 0, 9, 0, 12, 0, 0, 'p', 'i', 'n', 'g'};
    std::memcpy(ip + 20, udp, sizeof udp);
    return f;
}

void libslirps_sockets_never_block(void**) {
    // libslirp 4.7.0 makes blocking UDP sockets; a full send buffer would
    // stop the loop in sendto() (see SlirpStack::register_poll_fd).
    Fixture fx;
    std::vector<uint8_t> datagram = udp_to_gateway();
    assert_int_equal(write(fx.guest.get(), datagram.data(), datagram.size()),
                     static_cast<ssize_t>(datagram.size()));
    fx.loop.run_once();
    std::vector<pollfd> fds;
    fx.path.stack().fill(fds);
    int udp_sockets = 0;
    for (const pollfd& p : fds) {
        int type = 0;
        socklen_t size = sizeof type;
        if (getsockopt(p.fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 || type != SOCK_DGRAM)
            continue;
        udp_sockets++;
        assert_true(fcntl(p.fd, F_GETFL) & O_NONBLOCK);
    }
    assert_int_equal(udp_sockets, 1);
}

void a_closed_device_stops_the_loop(void**) {
    Fixture fx;
    fx.guest.reset();
    fx.loop.run_once();
    assert_true(fx.loop.stopping());
}

// --pcap: the frame the guest wrote, then libslirp's answer, byte for byte
// as they crossed the device.
void the_capture_holds_both_directions(void**) {
    char dir[] = "/tmp/test_packet_path.XXXXXX";
    assert_non_null(mkdtemp(dir));
    std::string file = std::string(dir) + "/c.pcap";
    std::vector<uint8_t> request = arp_request(), reply(1500);
    ssize_t n;
    {
        Fixture fx;
        std::unique_ptr<PacketCapture> capture;
        std::string error;
        if (!PacketCapture::open(file, fx.loop, &capture, &error)) fail_msg("%s", error.c_str());
        fx.path.set_capture(capture.get());
        assert_int_equal(write(fx.guest.get(), request.data(), request.size()),
                         static_cast<ssize_t>(request.size()));
        fx.loop.run_once();
        n = read(fx.guest.get(), reply.data(), reply.size());
        assert_true(n >= 42);
        fx.path.set_capture(nullptr);
    }
    std::vector<uint8_t> data(65536);
    UniqueFd fd(open(file.c_str(), O_RDONLY | O_CLOEXEC));
    ssize_t size = read(fd.get(), data.data(), data.size());
    unlink(file.c_str());
    rmdir(dir);
    size_t first = 24 + 16, second = first + request.size() + 16;
    assert_int_equal(size, static_cast<ssize_t>(second + static_cast<size_t>(n)));
    assert_int_equal(data[first - 8], request.size());  // caplen, little-endian here
    assert_memory_equal(data.data() + first, request.data(), request.size());
    assert_int_equal(data[second - 8], n);
    assert_memory_equal(data.data() + second, reply.data(), static_cast<size_t>(n));
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(a_guest_frame_reaches_libslirp_and_is_answered),
        cmocka_unit_test(libslirps_sockets_never_block),
        cmocka_unit_test(a_closed_device_stops_the_loop),
        cmocka_unit_test(the_capture_holds_both_directions),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
