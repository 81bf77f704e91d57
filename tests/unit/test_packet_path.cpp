// SPDX-License-Identifier: GPL-2.0-or-later
// test_packet_path.cpp: the daemon's real packet path (packet_path.hpp) and
// libslirp glue (slirp_stack.hpp) on a socketpair standing for a BESS
// client: a frame the "guest" writes reaches libslirp, whose answer comes
// back on the device, and a device that closes stops the loop.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "options.hpp"
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

void a_closed_device_stops_the_loop(void**) {
    Fixture fx;
    fx.guest.reset();
    fx.loop.run_once();
    assert_true(fx.loop.stopping());
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(a_guest_frame_reaches_libslirp_and_is_answered),
        cmocka_unit_test(a_closed_device_stops_the_loop),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
