// SPDX-License-Identifier: GPL-2.0-or-later
// test_network.cpp: CIDR parsing and the addresses derived from it.
#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "network.hpp"

#include "cmocka.hpp"

namespace {

// parse_cidr as a value, so that checks read as one expression.
std::optional<Network> cidr(const std::string& text, std::string* error) {
    Network network;
    if (!parse_cidr(text, &network, error)) return std::nullopt;
    return network;
}

std::string s(in_addr a) {
    return ipv4_to_string(a);
}

void test_default_network(void**) {
    Network n = default_network();
    assert_string_equal(s(n.address).c_str(), "10.0.2.0");
    assert_string_equal(s(n.netmask).c_str(), "255.255.255.0");
    assert_int_equal(n.prefix, 24);
    assert_string_equal(s(n.gateway).c_str(), "10.0.2.2");
    assert_string_equal(s(n.dns).c_str(), "10.0.2.3");
    assert_string_equal(s(n.dhcp_start).c_str(), "10.0.2.15");
    assert_string_equal(s(n.guest).c_str(), "10.0.2.100");
}

void test_cidr_24(void**) {
    std::string error;
    auto n = cidr("10.99.0.0/24", &error);
    assert_true(n.has_value());
    assert_true(error.empty());
    assert_string_equal(s(n->address).c_str(), "10.99.0.0");
    assert_string_equal(s(n->netmask).c_str(), "255.255.255.0");
    assert_string_equal(s(n->gateway).c_str(), "10.99.0.2");
    assert_string_equal(s(n->dns).c_str(), "10.99.0.3");
    assert_string_equal(s(n->dhcp_start).c_str(), "10.99.0.15");
    assert_string_equal(s(n->guest).c_str(), "10.99.0.100");
}

void test_cidr_25_upper_half(void**) {
    std::string error;
    auto n = cidr("192.168.5.128/25", &error);
    assert_true(n.has_value());
    assert_int_equal(n->prefix, 25);
    assert_string_equal(s(n->address).c_str(), "192.168.5.128");
    assert_string_equal(s(n->netmask).c_str(), "255.255.255.128");
    assert_string_equal(s(n->gateway).c_str(), "192.168.5.130");
    assert_string_equal(s(n->dns).c_str(), "192.168.5.131");
    assert_string_equal(s(n->dhcp_start).c_str(), "192.168.5.143");
    assert_string_equal(s(n->guest).c_str(), "192.168.5.228");
}

void test_cidr_25_lower_half(void**) {
    auto n = cidr("192.168.5.0/25", nullptr);
    assert_true(n.has_value());
    assert_string_equal(s(n->netmask).c_str(), "255.255.255.128");
    assert_string_equal(s(n->gateway).c_str(), "192.168.5.2");
    assert_string_equal(s(n->guest).c_str(), "192.168.5.100");
}

void test_cidr_prefix_1(void**) {
    auto n = cidr("0.0.0.0/1", nullptr);
    assert_true(n.has_value());
    assert_string_equal(s(n->address).c_str(), "0.0.0.0");
    assert_string_equal(s(n->netmask).c_str(), "128.0.0.0");
    assert_string_equal(s(n->gateway).c_str(), "0.0.0.2");
}

void test_cidr_prefix_16(void**) {
    auto n = cidr("172.20.0.0/16", nullptr);
    assert_true(n.has_value());
    assert_string_equal(s(n->netmask).c_str(), "255.255.0.0");
    assert_string_equal(s(n->guest).c_str(), "172.20.0.100");
}

// As the original: host bits are refused, with its words, and the network
// meant is named.
void test_cidr_host_bits_refused(void**) {
    std::string error;
    assert_false(cidr("10.0.2.77/24", &error).has_value());
    assert_non_null(strstr(error.c_str(), "CIDR needs to be a network address like 10.0.2.0/24"));
    assert_non_null(strstr(error.c_str(), "(the network is 10.0.2.0/24)"));
    assert_false(cidr("192.168.5.200/25", &error).has_value());
    assert_non_null(strstr(error.c_str(), "(the network is 192.168.5.128/25)"));
    assert_false(cidr("10.0.0.0/1", nullptr).has_value());
}

// Every rejection must name the input and say why, on one line.
void expect_rejected(const char* text, const char* why) {
    std::string error;
    auto n = cidr(text, &error);
    assert_false(n.has_value());
    assert_non_null(strstr(error.c_str(), text));
    assert_non_null(strstr(error.c_str(), why));
    assert_null(strchr(error.c_str(), '\n'));
}

void test_cidr_missing_prefix(void**) {
    expect_rejected("10.0.2.0", "ADDRESS/PREFIX");
}
void test_cidr_bad_address(void**) {
    expect_rejected("10.0.2/24", "invalid network address");
    expect_rejected("foo/24", "invalid network address");
    expect_rejected("/24", "invalid network address");
    expect_rejected("10.0.2.256/24", "invalid network address");
    expect_rejected("010.0.2.0/24", "invalid network address");
    expect_rejected("fd00::/64", "invalid network address");
}
void test_cidr_prefix_zero(void**) {
    expect_rejected("10.0.2.0/0", "prefix length needs to be 1-25");
    expect_rejected("10.0.2.0/00", "prefix length needs to be 1-25");
}
void test_cidr_prefix_26(void**) {
    expect_rejected("10.0.2.0/26", "prefix length needs to be 1-25");
}
void test_cidr_prefix_32(void**) {
    expect_rejected("10.0.2.0/32", "prefix length needs to be 1-25");
    // One or two digits, as the original reads them.
    expect_rejected("10.0.2.0/100", "one or two digits");
    expect_rejected("10.0.2.0/024", "one or two digits");
    expect_rejected("10.0.2.0/99999999999999999999", "one or two digits");
}
void test_cidr_prefix_not_number(void**) {
    expect_rejected("10.0.2.0/abc", "must be a number");
    expect_rejected("10.0.2.0/", "must be a number");
    expect_rejected("10.0.2.0/24x", "must be a number");
    expect_rejected("10.0.2.0/-8", "must be a number");
}

void test_cidr_null_error_is_allowed(void**) {
    assert_false(cidr("bad", nullptr).has_value());
}

void test_network6(void**) {
    Network6 n = default_network6();
    assert_string_equal(ipv6_to_string(n.prefix).c_str(), "fd00::");
    assert_int_equal(n.prefix_len, 64);
    assert_string_equal(ipv6_to_string(n.gateway).c_str(), "fd00::2");
    assert_string_equal(ipv6_to_string(n.dns).c_str(), "fd00::3");
}

std::optional<Network6> cidr6(const std::string& text, std::string* error) {
    Network6 network;
    if (!parse_cidr6(text, &network, error)) return std::nullopt;
    return network;
}

void test_cidr6_derives_gateway_and_dns(void**) {
    auto n = cidr6("fd5b:e9ce:dffb:cafe::/64", nullptr);
    assert_true(n.has_value());
    assert_string_equal(ipv6_to_string(n->prefix).c_str(), "fd5b:e9ce:dffb:cafe::");
    assert_int_equal(n->prefix_len, 64);
    assert_string_equal(ipv6_to_string(n->gateway).c_str(), "fd5b:e9ce:dffb:cafe::2");
    assert_string_equal(ipv6_to_string(n->dns).c_str(), "fd5b:e9ce:dffb:cafe::3");
    // Global unicast and the default itself are prefixes too.
    assert_string_equal(ipv6_to_string(cidr6("2001:db8:0:1::/64", nullptr)->gateway).c_str(),
                        "2001:db8:0:1::2");
    assert_string_equal(ipv6_to_string(cidr6("fd00::/64", nullptr)->dns).c_str(), "fd00::3");
}

// Every IPv6 refusal says "invalid CIDR" (the original's words for all of
// them), names the input and says why, on one line.
void expect_rejected6(const char* text, const char* why) {
    std::string error;
    assert_false(cidr6(text, &error).has_value());
    assert_non_null(strstr(error.c_str(), "invalid CIDR"));
    assert_non_null(strstr(error.c_str(), text));
    assert_non_null(strstr(error.c_str(), why));
    assert_null(strchr(error.c_str(), '\n'));
}

void test_cidr6_refusals(void**) {
    expect_rejected6("fd00::", "expected PREFIX/64");
    expect_rejected6("fd00::/48", "must be a /64");
    expect_rejected6("fd00::/128", "must be a /64");
    expect_rejected6("fd00::/064", "must be a /64");
    expect_rejected6("fd00::/", "must be a number");
    expect_rejected6("fd00::/6x", "must be a number");
    expect_rejected6("fd00::/-64", "must be a number");
    expect_rejected6("fd00::/0064", "must be a number");
    expect_rejected6("fd00::1/64", "host bits are set (the prefix is fd00::/64)");
    expect_rejected6("fd5b:e9ce:dffb:cafe:0:0:0:100/64",
                     "(the prefix is fd5b:e9ce:dffb:cafe::/64)");
    expect_rejected6("ff02::/64", "multicast");
    expect_rejected6("fe80::/64", "link-local");
    expect_rejected6("febf:1::/64", "link-local");
    expect_rejected6("::/64", "::/64 holds");
    expect_rejected6("::ffff:10.0.0.0/64", "::/64 holds");
    expect_rejected6("fd00:::/64", "invalid IPv6 prefix");
    expect_rejected6("fe80::%eth0/64", "invalid IPv6 prefix");
    expect_rejected6("10.0.2.0:1/64", "invalid IPv6 prefix");
    // fec0::/10 (site-local, deprecated) is unicast and still a prefix.
    assert_true(cidr6("fec0::/64", nullptr).has_value());
}

void test_cidr_family(void**) {
    assert_true(cidr_is_ipv6("fd00::/64"));
    assert_true(cidr_is_ipv6("::1"));
    assert_true(cidr_is_ipv6("x:y/64"));
    assert_false(cidr_is_ipv6("10.0.2.0/24"));
    assert_false(cidr_is_ipv6("10.0.2.0/2:4"));  // the prefix length is not the address
    assert_false(cidr_is_ipv6(""));
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_default_network),
        cmocka_unit_test(test_cidr_24),
        cmocka_unit_test(test_cidr_25_upper_half),
        cmocka_unit_test(test_cidr_25_lower_half),
        cmocka_unit_test(test_cidr_prefix_1),
        cmocka_unit_test(test_cidr_prefix_16),
        cmocka_unit_test(test_cidr_host_bits_refused),
        cmocka_unit_test(test_cidr_missing_prefix),
        cmocka_unit_test(test_cidr_bad_address),
        cmocka_unit_test(test_cidr_prefix_zero),
        cmocka_unit_test(test_cidr_prefix_26),
        cmocka_unit_test(test_cidr_prefix_32),
        cmocka_unit_test(test_cidr_prefix_not_number),
        cmocka_unit_test(test_cidr_null_error_is_allowed),
        cmocka_unit_test(test_network6),
        cmocka_unit_test(test_cidr6_derives_gateway_and_dns),
        cmocka_unit_test(test_cidr6_refusals),
        cmocka_unit_test(test_cidr_family),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
