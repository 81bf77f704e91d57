// SPDX-License-Identifier: GPL-2.0-or-later
// test_api_request.cpp: the API protocol without sockets: framing, parsing
// and validation into typed requests, the forward table, reply formatting.
#include <arpa/inet.h>

#include <string>

#include "api_request.hpp"

#include "cmocka.hpp"

namespace {

// parse_request's outcome as one value, so that checks read as one expression.
struct ParsedRequest {
    std::optional<ApiRequest> request;
    std::string error;
};

ParsedRequest parse(std::string_view bytes, const RequestDefaults& defaults) {
    ParsedRequest p;
    ApiRequest request;
    if (parse_request(bytes, defaults, &request, &p.error)) p.request = request;
    return p;
}

RequestDefaults defaults(bool ipv6 = false) {
    RequestDefaults d;
    inet_pton(AF_INET, "10.0.2.100", &d.guest_addr);
    d.ipv6 = ipv6;
    return d;
}

std::string error_of(const std::string& text, bool ipv6 = false) {
    ParsedRequest p = parse(text, defaults(ipv6));
    assert_false(p.request.has_value());
    return p.error;
}

HostfwdSpec add_ok(const std::string& arguments, bool ipv6 = false) {
    ParsedRequest p =
        parse("{\"execute\":\"add_hostfwd\",\"arguments\":{" + arguments + "}}", defaults(ipv6));
    if (!p.request) fail_msg("refused {%s}: %s", arguments.c_str(), p.error.c_str());
    assert_int_equal(static_cast<int>(p.request->command),
                     static_cast<int>(ApiCommand::AddHostfwd));
    return p.request->hostfwd;
}

std::string add_error(const std::string& arguments, bool ipv6 = false) {
    return error_of("{\"execute\":\"add_hostfwd\",\"arguments\":{" + arguments + "}}", ipv6);
}

void test_frame_incomplete_until_value_closes(void**) {
    assert_int_equal(static_cast<int>(frame_state("", false)),
                     static_cast<int>(FrameState::Incomplete));
    assert_int_equal(static_cast<int>(frame_state("  \n", false)),
                     static_cast<int>(FrameState::Incomplete));
    assert_int_equal(static_cast<int>(frame_state("{\"execute\":", false)),
                     static_cast<int>(FrameState::Incomplete));
    assert_int_equal(static_cast<int>(frame_state("{\"execute\":\"list_hostfwd\"}", false)),
                     static_cast<int>(FrameState::Complete));
    assert_int_equal(static_cast<int>(frame_state(" {\"a\":{\"b\":[1,2]}}\n", false)),
                     static_cast<int>(FrameState::Complete));
    // Braces and escaped quotes inside strings do not count.
    assert_int_equal(static_cast<int>(frame_state("{\"a\":\"}\\\"}\"", false)),
                     static_cast<int>(FrameState::Incomplete));
    assert_int_equal(static_cast<int>(frame_state("{\"a\":\"}\\\"}\"}", false)),
                     static_cast<int>(FrameState::Complete));
    // A number may still grow; garbage never becomes JSON.
    assert_int_equal(static_cast<int>(frame_state("12", false)),
                     static_cast<int>(FrameState::Incomplete));
    assert_int_equal(static_cast<int>(frame_state("@", false)),
                     static_cast<int>(FrameState::Complete));
}

void test_frame_eof_and_size(void**) {
    assert_int_equal(static_cast<int>(frame_state("", true)),
                     static_cast<int>(FrameState::Complete));
    assert_int_equal(static_cast<int>(frame_state("{\"exe", true)),
                     static_cast<int>(FrameState::Complete));
    assert_int_equal(static_cast<int>(frame_state(std::string(4095, ' '), false)),
                     static_cast<int>(FrameState::Incomplete));
    assert_int_equal(static_cast<int>(frame_state(std::string(4096, ' '), false)),
                     static_cast<int>(FrameState::TooLarge));
    assert_int_equal(static_cast<int>(frame_state(std::string(4096, ' '), true)),
                     static_cast<int>(FrameState::TooLarge));
    // Deep nesting costs a counter, not recursion.
    std::string deep(4000, '[');
    assert_int_equal(static_cast<int>(frame_state(deep, false)),
                     static_cast<int>(FrameState::Incomplete));
}

void test_protocol_errors(void**) {
    assert_string_equal(error_of("").c_str(), "bad request: cannot parse JSON");
    assert_string_equal(error_of("{\"execute\":").c_str(), "bad request: cannot parse JSON");
    assert_string_equal(error_of("{\"execute\":\"\xff\"}").c_str(),
                        "bad request: cannot parse JSON");
    assert_string_equal(error_of("{} {}").c_str(), "bad request: cannot parse JSON");
    assert_string_equal(error_of("{}").c_str(), "bad request: no execute found");
    assert_string_equal(error_of("[]").c_str(), "bad request: no execute found");
    assert_string_equal(error_of("{\"execute\":null}").c_str(), "bad request: no execute found");
    assert_string_equal(error_of("{\"execute\":[\"list_hostfwd\"]}").c_str(),
                        "bad request: no execute found");
    assert_string_equal(error_of("{\"execute\":\"List_hostfwd\"}").c_str(),
                        "bad request: unknown execute");
    std::string deep = std::string(1500, '[') + std::string(1500, ']');
    assert_string_equal(error_of(deep).c_str(), "bad request: no execute found");
}

void test_simple_commands(void**) {
    auto list = parse("{\"execute\":\"list_hostfwd\"}", defaults());
    assert_true(list.request && list.request->command == ApiCommand::ListHostfwd);
    auto stats = parse("{\"execute\":\"get_stats\",\"arguments\":{}}", defaults());
    assert_true(stats.request && stats.request->command == ApiCommand::GetStats);
    auto remove = parse("{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":7}}", defaults());
    assert_true(remove.request && remove.request->command == ApiCommand::RemoveHostfwd);
    assert_int_equal(remove.request->remove_id, 7);
}

void test_add_defaults(void**) {
    HostfwdSpec s = add_ok("\"proto\":\"udp\",\"host_port\":53,\"guest_port\":5353");
    assert_true(s.udp);
    assert_string_equal(s.host_addr_text.c_str(), "0.0.0.0");
    assert_true(s.host_addr.is_any());
    assert_string_equal(s.guest_addr_text.c_str(), "10.0.2.100");
    assert_int_equal(s.host_port, 53);
    assert_int_equal(s.guest_port, 5353);
    // null means "not given".
    s = add_ok("\"proto\":\"tcp\",\"host_addr\":null,\"host_port\":1,\"guest_port\":65535");
    assert_false(s.udp);
    assert_string_equal(s.host_addr_text.c_str(), "0.0.0.0");
    // An empty string too, as slirp4netns does: podman 4.3's exact request.
    s = add_ok(
        "\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":18080,"
        "\"guest_addr\":\"\",\"guest_port\":80");
    assert_string_equal(s.guest_addr_text.c_str(), "10.0.2.100");
    assert_string_equal(s.host_addr_text.c_str(), "127.0.0.1");
    s = add_ok("\"proto\":\"tcp\",\"host_addr\":\"\",\"host_port\":18080,\"guest_port\":80");
    assert_string_equal(s.host_addr_text.c_str(), "0.0.0.0");
}

void test_add_explicit_and_ipv6(void**) {
    HostfwdSpec s = add_ok(
        "\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":8080,"
        "\"guest_addr\":\"10.0.2.5\",\"guest_port\":80,\"unknown\":[1]");
    assert_string_equal(s.host_addr_text.c_str(), "127.0.0.1");
    assert_string_equal(s.guest_addr_text.c_str(), "10.0.2.5");
    s = add_ok(
        "\"proto\":\"tcp\",\"host_addr\":\"::\",\"host_port\":80,\"guest_addr\":\"fd00::100\","
        "\"guest_port\":80",
        true);
    assert_int_equal(s.host_addr.family, AF_INET6);
    assert_int_equal(s.guest_addr.family, AF_INET6);
    assert_string_equal(s.guest_addr_text.c_str(), "fd00::100");
    // Without -6, IPv6 literals are not addresses we can use.
    assert_string_equal(add_error("\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":80,"
                                  "\"guest_addr\":\"fd00::100\",\"guest_port\":80")
                            .c_str(),
                        api_error::kBadHostAddr);
    // libslirp cannot relay between families: in slirp mode an IPv6
    // host_addr needs an IPv6 guest_addr (splice mode: test_add_mode_auto).
    assert_string_equal(add_error("\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":80,"
                                  "\"guest_port\":80,\"mode\":\"slirp\"",
                                  true)
                            .c_str(),
                        api_error::kBadGuestAddr);
    assert_string_equal(add_error("\"proto\":\"tcp\",\"host_port\":80,\"guest_addr\":\"fd00::1\","
                                  "\"guest_port\":80,\"mode\":\"slirp\"",
                                  true)
                            .c_str(),
                        api_error::kBadGuestAddr);
}

void test_add_bad_arguments_in_order(void**) {
    const std::string ports = "\"host_port\":80,\"guest_port\":80";
    assert_string_equal(add_error(ports).c_str(), api_error::kBadProto);
    assert_string_equal(add_error("\"proto\":\"icmp\"," + ports).c_str(), api_error::kBadProto);
    assert_string_equal(add_error("\"proto\":1," + ports).c_str(), api_error::kBadProto);
    assert_string_equal(error_of("{\"execute\":\"add_hostfwd\",\"arguments\":\"tcp\"}").c_str(),
                        api_error::kBadProto);
    // The first bad field is the one named.
    assert_string_equal(add_error("\"proto\":\"tcp\",\"host_addr\":\"x\",\"host_port\":0").c_str(),
                        api_error::kBadHostAddr);
    for (const char* bad :
         {"\"1.2.3\"", "\"1.2.3.4/8\"", "\"localhost\"", "4", "false", "\"127.0.0.1\\u0000x\""})
        assert_string_equal(
            add_error(std::string("\"proto\":\"tcp\",\"host_addr\":") + bad + "," + ports).c_str(),
            api_error::kBadHostAddr);
    for (const char* bad : {"0", "65536", "-80", "\"80\"", "80.5", "true", "1e300", "[80]", "null"})
        assert_string_equal(
            add_error(std::string("\"proto\":\"tcp\",\"host_port\":") + bad + ",\"guest_port\":80")
                .c_str(),
            api_error::kBadHostPort);
    for (const char* bad : {"\"10.0.2.300\"", "{}", "1"})
        assert_string_equal(
            add_error(std::string("\"proto\":\"tcp\",\"host_port\":80,\"guest_addr\":") + bad +
                      ",\"guest_port\":80")
                .c_str(),
            api_error::kBadGuestAddr);
    for (const char* bad : {"0", "65536", "\"22\"", "2.5", "false"})
        assert_string_equal(
            add_error(std::string("\"proto\":\"tcp\",\"host_port\":80,\"guest_port\":") + bad)
                .c_str(),
            api_error::kBadGuestPort);
    assert_string_equal(add_error("\"proto\":\"tcp\",\"host_port\":80").c_str(),
                        api_error::kBadGuestPort);
    // Integral floats are numbers like any other.
    assert_int_equal(add_ok("\"proto\":\"tcp\",\"host_port\":8e3,\"guest_port\":80.0").host_port,
                     8000);
}

void test_remove_bad_id(void**) {
    for (const char* bad : {"{}", "{\"id\":0}", "{\"id\":-1}", "{\"id\":\"3\"}", "{\"id\":1.5}",
                            "{\"id\":true}", "{\"id\":1e30}", "[]"})
        assert_string_equal(
            error_of(std::string("{\"execute\":\"remove_hostfwd\",\"arguments\":") + bad + "}")
                .c_str(),
            api_error::kBadId);
    assert_string_equal(error_of("{\"execute\":\"remove_hostfwd\"}").c_str(), api_error::kBadId);
}

void test_table_ids_and_conflicts(void**) {
    HostfwdTable t;
    HostfwdSpec any = add_ok("\"proto\":\"tcp\",\"host_port\":8080,\"guest_port\":80");
    HostfwdSpec local = add_ok(
        "\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":8080,\"guest_port\":80");
    HostfwdSpec udp = add_ok("\"proto\":\"udp\",\"host_port\":8080,\"guest_port\":80");
    HostfwdSpec other = add_ok(
        "\"proto\":\"tcp\",\"host_addr\":\"127.0.0.2\",\"host_port\":8080,\"guest_port\":80");
    HostfwdSpec v6 = add_ok(
        "\"proto\":\"tcp\",\"host_addr\":\"::\",\"host_port\":8080,\"guest_addr\":\"fd00::5\","
        "\"guest_port\":80",
        true);
    assert_null(t.conflicting(local));
    assert_int_equal(t.add(local), 1);
    assert_non_null(t.conflicting(local));  // the same
    assert_non_null(t.conflicting(any));    // 0.0.0.0 overlaps 127.0.0.1
    assert_null(t.conflicting(udp));        // other proto
    assert_null(t.conflicting(other));      // other address
    assert_null(t.conflicting(v6));         // IPv6-only listener
    assert_int_equal(t.add(udp), 2);
    assert_int_equal(t.add(v6), 3);
    assert_non_null(t.conflicting(v6));
    assert_true(t.remove(1));
    assert_false(t.remove(1));
    assert_null(t.find(1));
    assert_non_null(t.find(3));
    assert_int_equal(t.add(local), 4);  // ids are never reused
    assert_int_equal(t.entries().size(), 3);
}

PortForwardMode mode_of(const std::string& arguments, PortForwardMode daemon_default,
                        bool ipv6 = false, bool shows_clients = false) {
    RequestDefaults d = defaults(ipv6);
    d.mode = daemon_default;
    d.splice_shows_clients = shows_clients;
    ParsedRequest p = parse("{\"execute\":\"add_hostfwd\",\"arguments\":{" + arguments + "}}", d);
    if (!p.request) fail_msg("refused {%s}: %s", arguments.c_str(), p.error.c_str());
    return p.request->hostfwd.mode;
}

// Without transparent routing, --port-forward-mode=auto (the default)
// splices loopback-bound forwards only; an explicit "mode" or a fixed daemon
// mode wins.
void test_add_mode_auto(void**) {
    const auto Auto = PortForwardMode::Auto, Slirp = PortForwardMode::Slirp,
               Splice = PortForwardMode::Splice;
    const std::string tcp = "\"proto\":\"tcp\",\"host_port\":80,\"guest_port\":80,";
    assert_true(mode_of(tcp + "\"host_addr\":\"127.0.0.1\"", Auto) == Splice);
    assert_true(mode_of(tcp + "\"host_addr\":\"127.1.2.3\"", Auto) == Splice);
    assert_true(mode_of(tcp + "\"host_addr\":\"::1\",\"guest_addr\":\"fd00::100\"", Auto, true) ==
                Splice);
    assert_true(mode_of("\"proto\":\"tcp\",\"host_port\":80,\"guest_port\":80", Auto) == Slirp);
    assert_true(mode_of(tcp + "\"host_addr\":\"0.0.0.0\"", Auto) == Slirp);
    assert_true(mode_of(tcp + "\"host_addr\":\"192.0.2.1\"", Auto) == Slirp);
    assert_true(mode_of(tcp + "\"host_addr\":\"128.0.0.1\"", Auto) == Slirp);
    assert_true(mode_of(tcp + "\"host_addr\":\"::\",\"guest_addr\":\"fd00::100\"", Auto, true) ==
                Slirp);
    // An IPv6 host_addr with the default (IPv4) guest_addr, as podman sends
    // for -p [::1]:8080:80 or -p [::]:8080:80: only splice mode can relay it.
    assert_true(mode_of(tcp + "\"host_addr\":\"::1\",\"guest_addr\":\"\"", Auto, true) == Splice);
    assert_true(mode_of(tcp + "\"host_addr\":\"::\"", Auto, true) == Splice);
    assert_true(mode_of(tcp + "\"host_addr\":\"0.0.0.0\",\"guest_addr\":\"fd00::100\"", Auto,
                        true) == Splice);
    const std::string mixed = tcp + "\"host_addr\":\"::\"";
    assert_string_equal(add_error(mixed + ",\"mode\":\"slirp\"", true).c_str(),
                        api_error::kBadGuestAddr);
    RequestDefaults slirp_daemon = defaults(true);
    slirp_daemon.mode = Slirp;
    assert_string_equal(
        parse("{\"execute\":\"add_hostfwd\",\"arguments\":{" + mixed + "}}", slirp_daemon)
            .error.c_str(),
        api_error::kBadGuestAddr);
    assert_true(mode_of(tcp + "\"host_addr\":\"127.0.0.1\",\"mode\":\"slirp\"", Auto) == Slirp);
    assert_true(mode_of(tcp + "\"host_addr\":\"0.0.0.0\",\"mode\":\"splice\"", Auto) == Splice);
    assert_true(mode_of(tcp + "\"host_addr\":\"127.0.0.1\"", Slirp) == Slirp);
    assert_true(mode_of(tcp + "\"host_addr\":\"0.0.0.0\"", Splice) == Splice);
    assert_string_equal(
        error_of("{\"execute\":\"add_hostfwd\",\"arguments\":{" + tcp + "\"mode\":\"auto\"}}")
            .c_str(),
        "bad request: add_hostfwd: bad arguments.mode");
}

// With transparent routing, auto splices every forward; an explicit "mode"
// or a fixed daemon mode still wins.
void test_add_mode_auto_transparent(void**) {
    const auto Auto = PortForwardMode::Auto, Slirp = PortForwardMode::Slirp,
               Splice = PortForwardMode::Splice;
    const std::string tcp = "\"proto\":\"tcp\",\"host_port\":80,\"guest_port\":80";
    const std::string udp = "\"proto\":\"udp\",\"host_port\":80,\"guest_port\":80";
    for (const std::string& base : {tcp, udp}) {
        assert_true(mode_of(base, Auto, false, true) == Splice);
        assert_true(mode_of(base + ",\"host_addr\":\"192.0.2.1\"", Auto, false, true) == Splice);
        assert_true(mode_of(base + ",\"host_addr\":\"127.0.0.1\"", Auto, false, true) == Splice);
        assert_true(mode_of(base + ",\"host_addr\":\"::\",\"guest_addr\":\"fd00::100\"", Auto, true,
                            true) == Splice);
        assert_true(mode_of(base + ",\"mode\":\"slirp\"", Auto, false, true) == Slirp);
        assert_true(mode_of(base, Slirp, false, true) == Slirp);
    }
}

void test_formatting(void**) {
    assert_string_equal(format_error("bad request: unknown execute").c_str(),
                        "{\"error\":{\"desc\":\"bad request: unknown execute\"}}");
    assert_string_equal(format_added(12).c_str(), "{\"return\":{\"id\":12}}");
    assert_string_equal(format_empty_return().c_str(), "{\"return\":{}}");
    HostfwdTable t;
    assert_string_equal(format_list(t).c_str(), "{\"return\":{\"entries\":[]}}");
    t.add(
        add_ok("\"proto\":\"udp\",\"host_addr\":\"127.0.0.1\",\"host_port\":53,\"guest_port\":5353,"
               "\"mode\":\"slirp\""));
    t.add(add_ok(
        "\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":80,\"guest_addr\":\"fd00::100\","
        "\"guest_port\":8080,\"mode\":\"slirp\"",
        true));
    assert_string_equal(format_list(t).c_str(),
                        "{\"return\":{\"entries\":["
                        "{\"id\":1,\"proto\":\"udp\",\"host_addr\":\"127.0.0.1\",\"host_port\":53,"
                        "\"guest_addr\":\"10.0.2.100\",\"guest_port\":5353},"
                        "{\"id\":2,\"proto\":\"tcp\",\"host_addr\":\"::1\",\"host_port\":80,"
                        "\"guest_addr\":\"fd00::100\",\"guest_port\":8080}]}}");
    // Splice forwards say so; slirp ones stay exactly as slirp4netns lists them.
    HostfwdTable spliced;
    HostfwdSpec splice =
        add_ok("\"proto\":\"tcp\",\"host_port\":81,\"guest_port\":82,\"mode\":\"splice\"");
    assert_true(splice.mode == PortForwardMode::Splice);
    spliced.add(splice);
    assert_string_equal(
        format_list(spliced).c_str(),
        "{\"return\":{\"entries\":[{\"id\":1,\"proto\":\"tcp\",\"host_addr\":\"0.0.0.0\","
        "\"host_port\":81,\"guest_addr\":\"10.0.2.100\",\"guest_port\":82,\"mode\":\"splice\"}]}}");
    Stats s;
    s.frames_from_guest = 1;
    s.bytes_from_guest = 2;
    s.frames_to_guest = 3;
    s.bytes_to_guest = 4;
    s.frames_dropped = 5;
    s.api_requests = 6;
    s.api_failures = 7;
    s.started_ms = 1000;
    s.kernel_tcp = true;
    s.sandbox = "chroot";
    s.kernel = {12, 13, 14, 15, 16, 17, true, 3};
    s.dns_forwarder = true;
    s.dns = {18, 19, 20, 21, 22};
    s.kernel_udp = true;
    KernelUdpCounters udp{23, 24, 25, 26, 27, 28, 29, 30};
    s.udp = &udp;
    s.udp_redirect = true;
    s.udp_redirected_frames = 31;
    s.udp_redirect_drops = 32;
    s.udp_ring_lingers = 33;
    assert_string_equal(
        format_stats(s, 8, 9, 11000).c_str(),
        "{\"return\":{\"frames_from_guest\":1,\"bytes_from_guest\":2,"
        "\"frames_to_guest\":3,\"bytes_to_guest\":4,\"frames_dropped\":5,"
        "\"api_requests\":6,\"api_failures\":7,\"api_clients_dropped\":9,"
        "\"active_forwards\":8,\"uptime_ms\":10000,\"tcp_path\":\"kernel\","
        "\"sandbox\":\"chroot\",\"kernel_tcp_delivery\":\"redirect\","
        "\"kernel_tcp_listeners\":3,\"kernel_tcp_active\":12,\"kernel_tcp_total\":13,"
        "\"kernel_tcp_refused\":14,\"kernel_tcp_failed\":15,"
        "\"kernel_tcp_bytes_from_guest\":16,\"kernel_tcp_bytes_to_guest\":17,"
        "\"dns_forwarder\":true,\"dns_queries\":18,\"dns_answers\":19,"
        "\"dns_failovers\":20,\"dns_servfails\":21,\"dns_dropped\":22,"
        "\"udp_path\":\"kernel\",\"kernel_udp_delivery\":\"redirect\",\"kernel_udp_flows\":23,"
        "\"kernel_udp_datagrams_from_guest\":24,\"kernel_udp_datagrams_to_guest\":25,"
        "\"kernel_udp_bytes_from_guest\":26,\"kernel_udp_bytes_to_guest\":27,"
        "\"kernel_udp_dropped\":28,\"kernel_udp_gso_frames_to_guest\":29,"
        "\"kernel_udp_runs_from_guest\":30,\"kernel_udp_frames_redirected\":31,"
        "\"kernel_udp_redirect_drops\":32,\"kernel_udp_ring_lingers\":33}}");
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_incomplete_until_value_closes),
        cmocka_unit_test(test_frame_eof_and_size),
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_simple_commands),
        cmocka_unit_test(test_add_defaults),
        cmocka_unit_test(test_add_explicit_and_ipv6),
        cmocka_unit_test(test_add_mode_auto),
        cmocka_unit_test(test_add_bad_arguments_in_order),
        cmocka_unit_test(test_remove_bad_id),
        cmocka_unit_test(test_table_ids_and_conflicts),
        cmocka_unit_test(test_add_mode_auto_transparent),
        cmocka_unit_test(test_formatting),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
