// SPDX-License-Identifier: GPL-2.0-or-later
// test_outbound.cpp: --outbound-addr(6) as resolved (outbound.hpp): either
// may be absent, a bad one is refused in the original's words, and a
// socket is bound to its own family's address only. Nothing is sent.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "outbound.hpp"
#include "unique_fd.hpp"

#include "cmocka.hpp"

namespace {

// The address a socket is bound to, as text ("" when it is not bound).
std::string bound_address(int fd) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) < 0) return "?";
    char text[INET6_ADDRSTRLEN] = "";
    if (a.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&a);
        if (in->sin_port == 0) return "";
        inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&a);
        if (in6->sin6_port == 0) return "";
        inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    }
    return text;
}

void resolves_either_or_neither(void**) {
    OutboundAddresses none;
    std::string err;
    assert_true(resolve_outbound("", "", &none, &err));
    assert_false(none.v4.has_value());
    assert_false(none.v6.has_value());

    OutboundAddresses both;
    assert_true(resolve_outbound("127.0.0.1", "::1", &both, &err));
    assert_true(both.v4.has_value());
    assert_true(both.v6.has_value());
    assert_int_equal(both.v4->sin_family, AF_INET);
    assert_int_equal(both.v6->sin6_family, AF_INET6);

    OutboundAddresses by_name;
    assert_true(resolve_outbound("lo", "", &by_name, &err));
    assert_int_equal(ntohl(by_name.v4->sin_addr.s_addr), INADDR_LOOPBACK);
}

void refuses_in_the_originals_words(void**) {
    OutboundAddresses out;
    std::string err;
    assert_false(resolve_outbound("::1", "", &out, &err));
    assert_true(err.find("outbound-addr has to be valid ipv4 address or interface name") == 0);
    err.clear();
    assert_false(resolve_outbound("", "no-such-if0", &out, &err));
    assert_true(err.find("outbound-addr6 has to be valid ipv6 address or interface name") == 0);
}

void binds_each_family_to_its_own(void**) {
    OutboundAddresses only_v4;
    std::string err;
    assert_true(resolve_outbound("127.0.0.1", "", &only_v4, &err));
    UniqueFd v4(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    assert_true(only_v4.bind_socket(v4.get(), AF_INET));
    assert_string_equal(bound_address(v4.get()).c_str(), "127.0.0.1");
    // No IPv6 address set: an IPv6 socket is left to the kernel.
    UniqueFd v6(socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    assert_true(only_v4.bind_socket(v6.get(), AF_INET6));
    assert_string_equal(bound_address(v6.get()).c_str(), "");
    // Nothing set: nothing bound.
    UniqueFd plain(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    assert_true(OutboundAddresses{}.bind_socket(plain.get(), AF_INET));
    assert_string_equal(bound_address(plain.get()).c_str(), "");
}

void reports_a_failed_bind(void**) {
    // An address of the documentation range, which no interface here holds.
    OutboundAddresses elsewhere;
    std::string err;
    assert_true(resolve_outbound("192.0.2.1", "", &elsewhere, &err));
    UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    errno = 0;
    assert_false(elsewhere.bind_socket(fd.get(), AF_INET));
    assert_int_not_equal(errno, 0);  // EADDRNOTAVAIL where loopback is up
    assert_string_equal(bound_address(fd.get()).c_str(), "");
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(resolves_either_or_neither),
        cmocka_unit_test(refuses_in_the_originals_words),
        cmocka_unit_test(binds_each_family_to_its_own),
        cmocka_unit_test(reports_a_failed_bind),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
