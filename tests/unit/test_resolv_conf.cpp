// SPDX-License-Identifier: GPL-2.0-or-later
// test_resolv_conf.cpp: what the DNS forwarder takes from resolv.conf
// (resolv_conf.hpp): nameservers of both families in order, options with
// glibc's bounds, comments, what is skipped, the defaults, and a file's stamp
// changing on a rewrite of the same size.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "resolv_conf.hpp"
#include "socket_address.hpp"

#include "cmocka.hpp"

namespace {

std::string text_of(const sockaddr_storage& s) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (s.ss_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(s).sin_addr, buf, sizeof buf);
    else
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(s).sin6_addr, buf, sizeof buf);
    return buf;
}

void reads_every_nameserver_of_both_families_in_order(void**) {
    ResolverConfig c = parse_resolv_conf(
        "# a comment\n"
        "nameserver 192.0.2.1\n"
        "  nameserver\t2001:db8::53   # trailing\n"
        "search example.org\n"
        "nameserver 198.51.100.7\n"
        "nameserver 127.0.0.53");
    assert_int_equal(c.servers.size(), 4);
    assert_string_equal(text_of(c.servers[0]).c_str(), "192.0.2.1");
    assert_string_equal(text_of(c.servers[1]).c_str(), "2001:db8::53");
    assert_string_equal(text_of(c.servers[2]).c_str(), "198.51.100.7");
    assert_string_equal(text_of(c.servers[3]).c_str(), "127.0.0.53");
    for (const auto& s : c.servers) assert_int_equal(port_host_order(s), 53);
    assert_int_equal(c.timeout_ms, ResolverConfig::kDefaultTimeoutMs);
    assert_int_equal(c.attempts, ResolverConfig::kDefaultAttempts);
    assert_false(c.rotate);
}

void skips_what_it_cannot_use(void**) {
    ResolverConfig c = parse_resolv_conf(
        "nameserver fe80::1%eth0\n"
        "nameserver not-an-address\n"
        "nameserver\n"
        "; nameserver 192.0.2.9\n"
        "#nameserver 192.0.2.8\n"
        "nameservers 192.0.2.7\n"
        "nameserver 192.0.2.6 extra words\n");
    assert_int_equal(c.servers.size(), 1);
    assert_string_equal(text_of(c.servers[0]).c_str(), "192.0.2.6");
}

void without_nameservers_asks_the_local_one(void**) {
    for (const char* text : {"", "# nothing\n", "nameserver bogus\noptions rotate\n"}) {
        ResolverConfig c = parse_resolv_conf(text);
        assert_int_equal(c.servers.size(), 1);
        assert_string_equal(text_of(c.servers[0]).c_str(), "127.0.0.1");
    }
}

void honours_options_within_glibcs_bounds(void**) {
    ResolverConfig c = parse_resolv_conf("options timeout:3 attempts:4 rotate ndots:2\n");
    assert_int_equal(c.timeout_ms, 3000);
    assert_int_equal(c.attempts, 4);
    assert_true(c.rotate);
    c = parse_resolv_conf("options timeout:0 attempts:99\noptions timeout:100\n");
    assert_int_equal(c.timeout_ms, 30000);  // the last one counts, clamped
    assert_int_equal(c.attempts, 5);
    c = parse_resolv_conf("options attempts:0 timeout:x timeout:1s\n");
    assert_int_equal(c.attempts, 1);
    assert_int_equal(c.timeout_ms, ResolverConfig::kDefaultTimeoutMs);
}

void caps_the_server_list(void**) {
    std::string text;
    for (int i = 0; i < 100; i++) text += "nameserver 192.0.2." + std::to_string(i) + "\n";
    assert_int_equal(parse_resolv_conf(text).servers.size(), ResolverConfig::kMaxServers);
}

void compares_configurations(void**) {
    const char* text = "nameserver 192.0.2.1\nnameserver ::1\noptions timeout:1\n";
    assert_true(parse_resolv_conf(text) == parse_resolv_conf(text));
    assert_false(parse_resolv_conf(text) ==
                 parse_resolv_conf("nameserver ::1\nnameserver 192.0.2.1\noptions timeout:1\n"));
    assert_false(parse_resolv_conf(text) == parse_resolv_conf("nameserver 192.0.2.1\n"));
}

void a_same_size_rewrite_changes_the_stamp(void**) {
    char path[] = "/tmp/test_resolv_conf.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    auto write_text = [&](const char* text) {
        int w = open(path, O_WRONLY | O_TRUNC);
        assert_true(w >= 0);
        assert_int_equal(write(w, text, std::strlen(text)), std::strlen(text));
        close(w);
    };
    write_text("nameserver 192.0.2.1\n");
    FileStamp first;
    ResolverConfig c = read_resolv_conf(path, &first);
    assert_true(first.exists);
    assert_string_equal(text_of(c.servers[0]).c_str(), "192.0.2.1");
    assert_true(stamp_file(path) == first);
    // Same size, within the same second; the kernel stamps files by its
    // coarse clock (a tick, up to 4 ms), so one tick apart.
    usleep(20000);
    write_text("nameserver 192.0.2.2\n");
    assert_false(stamp_file(path) == first);
    unlink(path);
    assert_false(stamp_file(path).exists);
    FileStamp gone;
    c = read_resolv_conf(path, &gone);
    assert_false(gone.exists);
    assert_string_equal(text_of(c.servers[0]).c_str(), "127.0.0.1");
}

}  // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_every_nameserver_of_both_families_in_order),
        cmocka_unit_test(skips_what_it_cannot_use),
        cmocka_unit_test(without_nameservers_asks_the_local_one),
        cmocka_unit_test(honours_options_within_glibcs_bounds),
        cmocka_unit_test(caps_the_server_list),
        cmocka_unit_test(compares_configurations),
        cmocka_unit_test(a_same_size_rewrite_changes_the_stamp),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
