// SPDX-License-Identifier: GPL-2.0-or-later
// test_transparent_socket.cpp: the address a transparent forward shows the
// guest for each kind of client, as slirp mode shows it.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

#include "transparent_socket.hpp"

#include "cmocka.hpp"

namespace {

sockaddr_storage address(const char* text, uint16_t port) {
    sockaddr_storage s{};
    if (std::strchr(text, ':')) {
        auto& in6 = reinterpret_cast<sockaddr_in6&>(s);
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(port);
        inet_pton(AF_INET6, text, &in6.sin6_addr);
    } else {
        auto& in = reinterpret_cast<sockaddr_in&>(s);
        in.sin_family = AF_INET;
        in.sin_port = htons(port);
        inet_pton(AF_INET, text, &in.sin_addr);
    }
    return s;
}

// "ADDR PORT" of what the guest sees for `client` reaching a guest address
// of `guest_family`, with the default gateways.
std::string seen(const char* client, int guest_family) {
    in_addr gateway{};
    in6_addr gateway6{};
    inet_pton(AF_INET, "10.0.2.2", &gateway);
    inet_pton(AF_INET6, "fd00::2", &gateway6);
    SourceAddress s = source_as_guest_sees(address(client, 40000), guest_family, gateway, gateway6);
    char text[INET6_ADDRSTRLEN] = "";
    uint16_t port;
    if (s.addr.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(s.addr);
        assert_int_equal(s.len, sizeof in);
        inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
        port = ntohs(in.sin_port);
    } else {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(s.addr);
        assert_int_equal(s.len, sizeof in6);
        inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
        port = ntohs(in6.sin6_port);
    }
    return std::string(text) + " " + std::to_string(port);
}

void test_remote_clients_are_themselves(void**) {
    assert_string_equal(seen("192.0.2.254", AF_INET).c_str(), "192.0.2.254 40000");
    assert_string_equal(seen("2001:db8::fe", AF_INET6).c_str(), "2001:db8::fe 40000");
    // The host's own non-loopback address is a client like any other.
    assert_string_equal(seen("10.0.2.2", AF_INET).c_str(), "10.0.2.2 40000");
}

void test_loopback_clients_are_the_gateway(void**) {
    assert_string_equal(seen("127.0.0.1", AF_INET).c_str(), "10.0.2.2 40000");
    assert_string_equal(seen("127.3.4.5", AF_INET).c_str(), "10.0.2.2 40000");
    assert_string_equal(seen("::1", AF_INET6).c_str(), "fd00::2 40000");
}

void test_other_family_is_the_gateway(void**) {
    assert_string_equal(seen("2001:db8::fe", AF_INET).c_str(), "10.0.2.2 40000");
    assert_string_equal(seen("::1", AF_INET).c_str(), "10.0.2.2 40000");
    assert_string_equal(seen("192.0.2.254", AF_INET6).c_str(), "fd00::2 40000");
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_clients_are_themselves),
        cmocka_unit_test(test_loopback_clients_are_the_gateway),
        cmocka_unit_test(test_other_family_is_the_gateway),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
