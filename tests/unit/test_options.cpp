// SPDX-License-Identifier: GPL-2.0-or-later
// test_options.cpp: the command-line parser, its single-value validators and
// the checks on option combinations.
#include <cstring>
#include <string>
#include <vector>

#include "options.hpp"

#include "cmocka.hpp"

namespace {

struct Parsed {
    Options options;
    std::string error;
    bool ok = false;
};

Parsed parse(std::vector<std::string> args) {
    args.insert(args.begin(), "slirp4netns");
    Parsed r;
    r.ok = parse_options(args, &r.options, &r.error);
    return r;
}

Options parse_ok(std::vector<std::string> args) {
    Parsed r = parse(std::move(args));
    if (!r.ok) fail_msg("unexpected error: %s", r.error.c_str());
    return r.options;
}

// parse_mtu and parse_mac as values, so that checks read as one expression.
std::optional<unsigned> mtu(const std::string& text, std::string* error) {
    unsigned value = 0;
    if (!parse_mtu(text, &value, error)) return std::nullopt;
    return value;
}

std::optional<MacAddress> mac_of(const std::string& text) {
    MacAddress mac;
    if (!parse_mac(text, &mac)) return std::nullopt;
    return mac;
}

// Parsing must fail with one line containing `needle`.
void parse_fails(std::vector<std::string> args, const char* needle) {
    Parsed r = parse(std::move(args));
    if (r.ok) fail_msg("expected an error containing \"%s\"", needle);
    if (!strstr(r.error.c_str(), needle))
        fail_msg("error \"%s\" does not contain \"%s\"", r.error.c_str(), needle);
    assert_null(strchr(r.error.c_str(), '\n'));
}

void test_defaults(void**) {
    Options o = parse_ok({"1234", "tap0"});
    assert_int_equal(o.target_pid, 1234);
    assert_string_equal(o.tap_name.c_str(), "tap0");
    assert_int_equal(o.mtu, 1500);
    assert_false(o.configure);
    assert_false(o.enable_ipv6);
    assert_int_equal(o.exit_fd, -1);
    assert_int_equal(o.ready_fd, -1);
    assert_true(o.netns_type == NetnsType::Pid);
    assert_true(o.target_type == TargetType::Netns);
    assert_true(o.action == Action::Run);
    assert_false(o.mac.has_value());
    assert_string_equal(ipv4_to_string(o.network.guest).c_str(), "10.0.2.100");
}

void test_short_forms(void**) {
    Options o = parse_ok(
        {"-c", "-e", "3", "-r", "4", "-m", "65520", "-6", "-a", "/tmp/api.sock", "42", "eth0"});
    assert_true(o.configure);
    assert_int_equal(o.exit_fd, 3);
    assert_int_equal(o.ready_fd, 4);
    assert_int_equal(o.mtu, 65520);
    assert_true(o.enable_ipv6);
    assert_string_equal(o.api_socket.c_str(), "/tmp/api.sock");
    assert_int_equal(o.target_pid, 42);
    assert_string_equal(o.tap_name.c_str(), "eth0");
}

void test_short_cluster_and_attached(void**) {
    Options o = parse_ok({"-c6", "-e3", "-m9000", "42", "tap0"});
    assert_true(o.configure);
    assert_true(o.enable_ipv6);
    assert_int_equal(o.exit_fd, 3);
    assert_int_equal(o.mtu, 9000);
}

void test_long_forms(void**) {
    Options o = parse_ok({"--configure",
                          "--exit-fd=5",
                          "--ready-fd",
                          "6",
                          "--mtu=1280",
                          "--enable-ipv6",
                          "--api-socket=/run/a.sock",
                          "--cidr=10.99.0.0/24",
                          "--disable-host-loopback",
                          "--netns-type=path",
                          "--userns-path=/u",
                          "--enable-sandbox",
                          "--enable-seccomp",
                          "--outbound-addr=192.0.2.1",
                          "--outbound-addr6=eth0",
                          "--disable-dns",
                          "--macaddress=02:11:22:33:44:55",
                          "--target-type=netns",
                          "/run/netns/x",
                          "tap1"});
    assert_true(o.configure);
    assert_int_equal(o.exit_fd, 5);
    assert_int_equal(o.ready_fd, 6);
    assert_int_equal(o.mtu, 1280);
    assert_true(o.enable_ipv6);
    assert_string_equal(o.api_socket.c_str(), "/run/a.sock");
    assert_string_equal(ipv4_to_string(o.network.gateway).c_str(), "10.99.0.2");
    assert_true(o.disable_host_loopback);
    assert_true(o.netns_type == NetnsType::Path);
    assert_string_equal(o.userns_path.c_str(), "/u");
    assert_true(o.enable_sandbox);
    assert_true(o.enable_seccomp);
    assert_string_equal(o.outbound_addr.c_str(), "192.0.2.1");
    assert_string_equal(o.outbound_addr6.c_str(), "eth0");
    assert_true(o.disable_dns);
    assert_true(o.mac.has_value());
    assert_string_equal(format_mac(*o.mac).c_str(), "02:11:22:33:44:55");
    assert_string_equal(o.target.c_str(), "/run/netns/x");
    assert_string_equal(o.tap_name.c_str(), "tap1");
}

// The exact command line podman 4.3 runs.
void test_podman_command_line(void**) {
    Options o = parse_ok({"--disable-host-loopback", "--mtu=65520", "--enable-sandbox",
                          "--enable-seccomp", "--enable-ipv6", "-c", "-e", "3", "-r", "4",
                          "--netns-type=path", "/run/user/1000/netns/cni-1", "tap0"});
    assert_true(o.netns_type == NetnsType::Path);
    assert_int_equal(o.mtu, 65520);
    assert_int_equal(o.exit_fd, 3);
    assert_int_equal(o.ready_fd, 4);
}

void test_netns_types(void**) {
    assert_true(parse_ok({"--netns-type=pid", "7", "tap0"}).netns_type == NetnsType::Pid);
    Options t = parse_ok({"--netns-type=tapfd", "9"});
    assert_true(t.netns_type == NetnsType::TapFd);
    assert_int_equal(t.tap_fd, 9);
    parse_fails({"--netns-type=foo", "1", "tap0"}, "unknown netns-type \"foo\"");
    parse_fails({"--netns-type=", "1"}, "unknown netns-type");
}

void test_help_and_version(void**) {
    assert_true(parse_ok({"--help"}).action == Action::Help);
    assert_true(parse_ok({"-h"}).action == Action::Help);
    assert_true(parse_ok({"--version"}).action == Action::Version);
    assert_true(parse_ok({"-v"}).action == Action::Version);
    // --help wins over a missing or invalid target.
    assert_true(parse_ok({"-c", "-h"}).action == Action::Help);
}

void test_help_lists_every_option(void**) {
    std::string help = help_text("slirp4netns");
    for (const char* name :
         {"--configure", "--exit-fd", "--ready-fd", "--mtu", "--enable-ipv6", "--api-socket",
          "--cidr", "--disable-host-loopback", "--netns-type", "--userns-path", "--enable-sandbox",
          "--enable-seccomp", "--outbound-addr=", "--outbound-addr6", "--disable-dns",
          "--macaddress", "--target-type", "--help", "--version"}) {
        if (help.find(name) == std::string::npos) fail_msg("--help lacks %s", name);
    }
}

void test_mtu_values(void**) {
    std::string error;
    assert_int_equal(*mtu("68", &error), 68);
    assert_int_equal(*mtu("1500", &error), 1500);
    assert_int_equal(*mtu("65521", &error), 65521);
    // The original's words for what it refuses; ours alone refuses 1 to 67.
    assert_false(mtu("0", &error).has_value());
    assert_non_null(strstr(error.c_str(), "MTU must be a positive integer (< 65522)"));
    assert_false(mtu("67", &error).has_value());
    assert_non_null(strstr(error.c_str(), "between 68 and 65521"));
    assert_false(mtu("65522", &error).has_value());
    assert_non_null(strstr(error.c_str(), "MTU must be a positive integer (< 65522)"));
    assert_false(mtu("99999999999999999999999", &error).has_value());
    assert_false(mtu("abc", &error).has_value());
    assert_non_null(strstr(error.c_str(), "\"abc\""));
    assert_false(mtu("", &error).has_value());
    assert_false(mtu("-1500", &error).has_value());
    assert_false(mtu("1500x", &error).has_value());
    assert_false(mtu(" 1500", &error).has_value());
    assert_false(mtu("0x5dc", nullptr).has_value());
}

void test_mtu_options(void**) {
    parse_fails({"--mtu=0", "1"}, "MTU");
    parse_fails({"--mtu=67", "1"}, "MTU");
    parse_fails({"--mtu=65522", "1"}, "MTU");
    parse_fails({"-m", "abc", "1"}, "MTU");
    assert_int_equal(parse_ok({"--mtu=68", "1", "tap0"}).mtu, 68);
    assert_int_equal(parse_ok({"-m", "65521", "1", "tap0"}).mtu, 65521);
}

void test_ipv6_needs_mtu_1280(void**) {
    parse_fails({"-6", "--mtu=1279", "1", "tap0"}, "IPv6 needs an MTU of at least 1280");
    assert_int_equal(parse_ok({"-6", "--mtu=1280", "1", "tap0"}).mtu, 1280);
    assert_int_equal(parse_ok({"--mtu=576", "1", "tap0"}).mtu, 576);
}

void test_fd_numbers(void**) {
    assert_int_equal(*parse_fd_number("0"), 0);
    assert_int_equal(*parse_fd_number("2147483647"), 2147483647);
    assert_false(parse_fd_number("2147483648").has_value());
    assert_false(parse_fd_number("-1").has_value());
    assert_false(parse_fd_number("x").has_value());
    assert_false(parse_fd_number("").has_value());
    assert_false(parse_fd_number("3 ").has_value());
}

void test_fd_options(void**) {
    parse_fails({"-e", "x", "1"}, "exit-fd must be a non-negative integer, got \"x\"");
    parse_fails({"--exit-fd=-1", "1"}, "exit-fd");
    parse_fails({"-r", "abc", "1"}, "ready-fd must be a non-negative integer");
    parse_fails({"--ready-fd=-3", "1"}, "ready-fd");
    parse_fails({"--netns-type=tapfd", "abc"}, "tap FD must be a non-negative integer");
    parse_fails({"--netns-type=tapfd", "-1"}, "invalid option \"-1\"");
}

void test_mac_values(void**) {
    auto mac = mac_of("02:aB:cd:EF:00:ff");
    assert_true(mac.has_value());
    assert_string_equal(format_mac(*mac).c_str(), "02:ab:cd:ef:00:ff");
    auto short_groups = mac_of("2:0:0:0:0:1");
    assert_true(short_groups.has_value());
    assert_string_equal(format_mac(*short_groups).c_str(), "02:00:00:00:00:01");
    // bad length
    assert_false(mac_of("").has_value());
    assert_false(mac_of("02:00:00:00:00").has_value());
    assert_false(mac_of("02:00:00:00:00:01:02").has_value());
    assert_false(mac_of("02:00:00:00:00:001").has_value());
    assert_false(mac_of("02:00:00:00:00:01:").has_value());
    // bad hex or separators
    assert_false(mac_of("02:00:00:00:00:0g").has_value());
    assert_false(mac_of("zz:00:00:00:00:01").has_value());
    assert_false(mac_of("02-00-00-00-00-01").has_value());
    assert_false(mac_of("02::00:00:00:01").has_value());
    assert_false(mac_of("020000000001").has_value());
    // multicast and broadcast cannot name an interface; neither can all-zero
    assert_false(mac_of("01:00:5e:00:00:01").has_value());
    assert_false(mac_of("ff:ff:ff:ff:ff:ff").has_value());
    assert_false(mac_of("00:00:00:00:00:00").has_value());
}

void test_mac_options(void**) {
    parse_fails({"--macaddress=02:00:00:00:00:01", "1", "tap0"},
                "--macaddress cannot be specified when --configure or -c is not specified");
    parse_fails({"-c", "--macaddress=02:00:00:00:00", "1"}, "is an invalid MAC address");
    parse_fails({"-c", "--macaddress=03:00:00:00:00:01", "1"}, "cannot set MAC address");
    assert_true(parse_ok({"-c", "--macaddress=02:00:00:00:00:01", "1", "tap0"}).mac.has_value());
}

void test_cidr_option(void**) {
    parse_fails({"--cidr=10.0.2.0", "1"}, "invalid CIDR \"10.0.2.0\"");
    parse_fails({"--cidr=10.0.2.0/26", "1"}, "prefix length needs to be 1-25");
    parse_fails({"--cidr=10.0.2.0/0", "1"}, "prefix length needs to be 1-25");
    parse_fails({"--cidr=10.0.2.0/abc", "1"}, "must be a number");
    parse_fails({"--cidr=bad/24", "1"}, "invalid network address \"bad\"");
    parse_fails({"--cidr=10.0.2.100/24", "1"}, "CIDR needs to be a network address");
    Options o = parse_ok({"--cidr=192.168.5.0/25", "1", "tap0"});
    assert_string_equal(ipv4_to_string(o.network.netmask).c_str(), "255.255.255.128");
    assert_string_equal(ipv4_to_string(o.network.guest).c_str(), "192.168.5.100");
}

// k3s's single-stack IPv6 line, verbatim.
void test_cidr6_option(void**) {
    Options o = parse_ok({"--mtu", "65520", "-r", "3", "--disable-host-loopback", "--cidr",
                          "fd5b:e9ce:dffb:cafe::/64", "--enable-ipv6", "1234", "tap0"});
    assert_true(o.enable_ipv6);
    assert_string_equal(ipv6_to_string(o.network6.prefix).c_str(), "fd5b:e9ce:dffb:cafe::");
    assert_string_equal(ipv6_to_string(o.network6.gateway).c_str(), "fd5b:e9ce:dffb:cafe::2");
    assert_string_equal(ipv6_to_string(o.network6.dns).c_str(), "fd5b:e9ce:dffb:cafe::3");
    // The IPv4 network keeps its default.
    assert_string_equal(ipv4_to_string(o.network.address).c_str(), "10.0.2.0");
    // Without --cidr, fd00::/64.
    assert_string_equal(ipv6_to_string(parse_ok({"-6", "1", "tap0"}).network6.gateway).c_str(),
                        "fd00::2");
    // One of each family, in either order.
    o = parse_ok({"-6", "--cidr=2001:db8:1:2::/64", "--cidr=10.9.0.0/16", "1", "tap0"});
    assert_string_equal(ipv6_to_string(o.network6.dns).c_str(), "2001:db8:1:2::3");
    assert_string_equal(ipv4_to_string(o.network.gateway).c_str(), "10.9.0.2");
    parse_fails({"-6", "--cidr=fd01::/64", "--cidr=fd02::/64", "1", "tap0"},
                "--cidr \"fd02::/64\": an IPv6 prefix is already given");
    parse_fails({"--cidr=10.1.0.0/24", "--cidr=10.2.0.0/24", "1", "tap0"},
                "--cidr \"10.2.0.0/24\": an IPv4 network is already given");
    parse_fails({"--cidr=fd01::/64", "1", "tap0"}, "it needs --enable-ipv6 (-6)");
    parse_fails({"-6", "--cidr=fd01::/48", "1", "tap0"}, "must be a /64");
    parse_fails({"-6", "--cidr=fd01::1/64", "1", "tap0"}, "invalid CIDR \"fd01::1/64\": host bits");
    parse_fails({"-6", "--cidr=ff05::/64", "1", "tap0"}, "multicast");
    parse_fails({"-6", "--cidr=fe80::/64", "1", "tap0"}, "link-local");
    parse_fails({"-6", "--cidr=fd01::zz/64", "1", "tap0"}, "invalid IPv6 prefix \"fd01::zz\"");
}

void test_bess_conflicts(void**) {
    Options o = parse_ok({"--target-type=bess", "/tmp/bess.sock"});
    assert_true(o.target_type == TargetType::Bess);
    assert_string_equal(o.target.c_str(), "/tmp/bess.sock");
    parse_fails({"--target-type=bess", "-c", "/tmp/b"}, "--configure conflicts with");
    parse_fails({"--target-type=bess", "--netns-type=path", "/tmp/b"}, "--netns-type conflicts");
    parse_fails({"--target-type=bess", "--userns-path=/u", "/tmp/b"}, "--userns-path conflicts");
    parse_fails({"--target-type=bess"}, "missing PATH of the BESS socket");
    parse_fails({"--target-type=bess", "/tmp/b", "tap0"}, "too many arguments");
    parse_fails({"--target-type=bess", std::string(200, 'b')}, "BESS socket path is too long");
    parse_fails({"--target-type=foo", "1"}, "--target-type must be either \"netns\" or \"bess\"");
}

void test_tapfd_conflicts(void**) {
    parse_fails({"--netns-type=tapfd", "-c", "5"}, "--configure cannot be used with");
    parse_fails({"--netns-type=tapfd", "--userns-path=/u", "5"}, "--userns-path cannot");
}

void test_target_errors(void**) {
    parse_fails({}, "missing PID, PATH or FD");
    parse_fails({"-c"}, "missing PID, PATH or FD");
    parse_fails({"1", "tap0", "extra"}, "too many arguments: unexpected \"extra\"");
    parse_fails({"abc"}, "PID must be a positive integer, got \"abc\"");
    parse_fails({"0"}, "PID must be a positive integer");
    parse_fails({"--netns-type=path", ""}, "existing path expected when --netns-type=path");
    // The original refuses a missing TAPNAME; a tap FD needs none.
    parse_fails({"1"}, "missing TAPNAME");
    parse_fails({"--netns-type=path", "/run/netns/x"}, "missing TAPNAME");
    parse_fails({"1", "a-very-long-tap-name"}, "invalid TAPNAME");
    parse_fails({"1", "a/b"}, "invalid TAPNAME");
    parse_fails({"1", ""}, "invalid TAPNAME");
}

void test_unknown_options(void**) {
    parse_fails({"--bogus", "1"}, "unrecognized option \"--bogus\"");
    parse_fails({"--bogus=3", "1"}, "\"--bogus\"");
    parse_fails({"-x", "1"}, "invalid option \"-x\"");
    // inside a cluster the offending character is named, not the cluster
    parse_fails({"-cx", "1"}, "invalid option \"-x\"");
    parse_fails({"--mtu=1500", "-cx", "1"}, "invalid option \"-x\"");
    parse_fails({"--configure=yes", "1"}, "option \"--configure\" doesn't allow an argument");
    // ambiguous abbreviation: --disable-dns or --disable-host-loopback
    parse_fails({"--disable", "1"}, "option \"--disable\" is ambiguous");
}

void test_missing_arguments(void**) {
    parse_fails({"-m"}, "option \"-m\" requires an argument");
    parse_fails({"-c", "-e"}, "option \"-e\" requires an argument");
    parse_fails({"--mtu"}, "option \"--mtu\" requires an argument");
    parse_fails({"--cidr"}, "option \"--cidr\" requires an argument");
    parse_fails({"--netns-type"}, "option \"--netns-type\" requires an argument");
}

void test_api_socket_path(void**) {
    std::string longest(107, 'a');
    assert_string_equal(parse_ok({"-a", longest, "1", "tap0"}).api_socket.c_str(), longest.c_str());
    parse_fails({"-a", std::string(108, 'a'), "1"}, "API socket path is too long");
    parse_fails({"--api-socket=", "1"}, "api-socket path must not be empty");
}

void test_empty_values(void**) {
    parse_fails({"--userns-path=", "1"}, "userns path doesn't exist");
    parse_fails({"--outbound-addr=", "1"}, "outbound-addr has to be valid ipv4 address");
    parse_fails({"--outbound-addr6=", "1"}, "outbound-addr6 has to be valid ipv6 address");
}

// As with the original (GNU getopt permutes argv), options may follow the
// target and the tap name.
void test_options_after_target(void**) {
    Options o = parse_ok({"42", "tap1", "-c", "--mtu=9000"});
    assert_true(o.configure);
    assert_int_equal(o.mtu, 9000);
    assert_int_equal(o.target_pid, 42);
    assert_string_equal(o.tap_name.c_str(), "tap1");
    parse_fails({"42", "--bogus"}, "unrecognized option \"--bogus\"");
    parse_fails({"42", "tap0", "-x"}, "invalid option \"-x\"");
    parse_fails({"42", "--mtu"}, "option \"--mtu\" requires an argument");
    // "--" ends the options: what follows is positional even with a dash.
    Options dashed = parse_ok({"--netns-type=path", "--", "-netns", "tap0"});
    assert_string_equal(dashed.target.c_str(), "-netns");
}

void test_abbreviated_long_options(void**) {
    Options o = parse_ok({"--conf", "--mt=1400", "5", "tap0"});
    assert_true(o.configure);
    assert_int_equal(o.mtu, 1400);
    parse_fails({"--mt"}, "option \"--mt\" requires an argument");
    parse_fails({"--conf=1", "5"}, "option \"--conf\" doesn't allow an argument");
}

// The parser keeps state in getopt's globals: a second parse must not be
// affected by where the first one stopped.
void test_repeated_parses(void**) {
    parse_fails({"-cx", "1"}, "-x");
    Options o = parse_ok({"-c", "-m", "9000", "5", "tap0"});
    assert_int_equal(o.mtu, 9000);
    assert_int_equal(o.target_pid, 5);
}

}  // namespace

// --busy-poll: microseconds, 50 by default, 0 turns it off, at most 1000.
void test_busy_poll(void**) {
    assert_int_equal(parse_ok({"1234", "tap0"}).busy_poll_us, 50);
    assert_int_equal(parse_ok({"--busy-poll=0", "1234", "tap0"}).busy_poll_us, 0);
    assert_int_equal(parse_ok({"--busy-poll", "1000", "1234", "tap0"}).busy_poll_us, 1000);
    parse_fails({"--busy-poll=1001", "1234"},
                "invalid busy-poll \"1001\" (0 to 1000 microseconds)");
    parse_fails({"--busy-poll=-1", "1234"}, "invalid busy-poll \"-1\"");
    parse_fails({"--busy-poll=fast", "1234"}, "invalid busy-poll \"fast\"");
    parse_fails({"--busy-poll=", "1234"}, "invalid busy-poll \"\"");
    parse_fails({"--busy-poll"}, "requires an argument");
}

// --port-forward-mode: auto (default), slirp or splice; splice needs a namespace.
void test_port_forward_mode(void**) {
    assert_true(parse_ok({"1234", "tap0"}).port_forward_mode == PortForwardMode::Auto);
    assert_true(parse_ok({"--port-forward-mode=auto", "1234", "tap0"}).port_forward_mode ==
                PortForwardMode::Auto);
    // Without a namespace to splice into, auto means slirp.
    assert_true(parse_ok({"--netns-type=tapfd", "5"}).port_forward_mode == PortForwardMode::Slirp);
    assert_true(parse_ok({"--port-forward-mode=splice", "1234", "tap0"}).port_forward_mode ==
                PortForwardMode::Splice);
    assert_true(parse_ok({"--port-forward-mode", "slirp", "1234", "tap0"}).port_forward_mode ==
                PortForwardMode::Slirp);
    assert_true(
        parse_ok({"--netns-type=path", "--port-forward-mode=splice", "/run/netns/x", "tap0"})
            .port_forward_mode == PortForwardMode::Splice);
    parse_fails({"--port-forward-mode=kernel", "1234"}, "unknown port-forward-mode \"kernel\"");
    parse_fails({"--port-forward-mode=", "1234"}, "unknown port-forward-mode");
    parse_fails({"--port-forward-mode"}, "requires an argument");
    parse_fails({"--netns-type=tapfd", "--port-forward-mode=splice", "5"},
                "needs a network namespace");
    parse_fails({"--target-type=bess", "--port-forward-mode=splice", "/tmp/b.sock"},
                "needs a network namespace");
    assert_true(
        parse_ok({"--netns-type=tapfd", "--port-forward-mode=slirp", "5"}).port_forward_mode ==
        PortForwardMode::Slirp);
    assert_non_null(strstr(help_text("slirp4netns").c_str(), "--port-forward-mode=MODE"));
}

// --tcp-path: kernel (default) or slirp.
void test_tcp_path(void**) {
    assert_true(parse_ok({"1234", "tap0"}).tcp_path == TcpPath::Kernel);
    assert_true(parse_ok({"--tcp-path=kernel", "1234", "tap0"}).tcp_path == TcpPath::Kernel);
    assert_true(parse_ok({"--tcp-path", "slirp", "1234", "tap0"}).tcp_path == TcpPath::Slirp);
    assert_true(parse_ok({"1234", "tap0"}).tcp_delivery == TcpDelivery::Auto);
    Options redirect = parse_ok({"--tcp-path=redirect", "1234", "tap0"});
    assert_true(redirect.tcp_path == TcpPath::Kernel);
    assert_true(redirect.tcp_delivery == TcpDelivery::Redirect);
    Options bridge = parse_ok({"--tcp-path=bridge", "1234", "tap0"});
    assert_true(bridge.tcp_path == TcpPath::Kernel);
    assert_true(bridge.tcp_delivery == TcpDelivery::Bridge);
    // The last one given counts, as for every option.
    Options last = parse_ok({"--tcp-path=bridge", "--tcp-path=kernel", "1234", "tap0"});
    assert_true(last.tcp_delivery == TcpDelivery::Auto);
    parse_fails({"--tcp-path=user", "1234"},
                "unknown tcp-path \"user\" (expected kernel, redirect, bridge or slirp)");
    parse_fails({"--tcp-path=", "1234"}, "unknown tcp-path \"\"");
    parse_fails({"--tcp-path"}, "requires an argument");
    assert_non_null(strstr(help_text("slirp4netns").c_str(), "default=kernel"));
}

// --udp-path: kernel (default) or slirp; without it, --tcp-path=slirp means
// slirp for UDP too (the original's behaviour throughout).
void test_udp_path(void**) {
    assert_true(parse_ok({"1234", "tap0"}).udp_path == UdpPath::Kernel);
    assert_true(parse_ok({"--udp-path=slirp", "1234", "tap0"}).udp_path == UdpPath::Slirp);
    assert_true(parse_ok({"--tcp-path=slirp", "1234", "tap0"}).udp_path == UdpPath::Slirp);
    assert_true(parse_ok({"--tcp-path=bridge", "1234", "tap0"}).udp_path == UdpPath::Kernel);
    assert_true(parse_ok({"--udp-path=kernel", "--tcp-path=slirp", "1234", "tap0"}).udp_path ==
                UdpPath::Kernel);
    assert_true(parse_ok({"--tcp-path=slirp", "--udp-path", "kernel", "1234", "tap0"}).udp_path ==
                UdpPath::Kernel);
    Options tap = parse_ok({"--udp-path=tap", "1234", "tap0"});
    assert_true(tap.udp_path == UdpPath::Kernel && tap.udp_delivery == UdpDelivery::Tap);
    assert_true(parse_ok({"--udp-path=tap", "--udp-path=kernel", "1234", "tap0"}).udp_delivery ==
                UdpDelivery::Auto);
    parse_fails({"--udp-path=fast", "1234"},
                "unknown udp-path \"fast\" (expected kernel, tap or slirp)");
    parse_fails({"--udp-path"}, "requires an argument");
    assert_non_null(strstr(help_text("slirp4netns").c_str(), "--udp-path=PATH"));
}

// --pcap: a file name, in either long form; opening it is the daemon's.
void test_pcap(void**) {
    assert_true(parse_ok({"1234", "tap0"}).pcap_path.empty());
    assert_string_equal(parse_ok({"--pcap=/tmp/c.pcap", "1234", "tap0"}).pcap_path.c_str(),
                        "/tmp/c.pcap");
    assert_string_equal(parse_ok({"--pcap", "c.pcap", "1234", "tap0"}).pcap_path.c_str(), "c.pcap");
    parse_fails({"--pcap=", "1234", "tap0"}, "--pcap needs a file name");
    parse_fails({"--pcap"}, "requires an argument");
    assert_non_null(strstr(help_text("slirp4netns").c_str(), "--pcap=FILE"));
}

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_short_forms),
        cmocka_unit_test(test_short_cluster_and_attached),
        cmocka_unit_test(test_long_forms),
        cmocka_unit_test(test_podman_command_line),
        cmocka_unit_test(test_netns_types),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_help_lists_every_option),
        cmocka_unit_test(test_mtu_values),
        cmocka_unit_test(test_mtu_options),
        cmocka_unit_test(test_ipv6_needs_mtu_1280),
        cmocka_unit_test(test_fd_numbers),
        cmocka_unit_test(test_fd_options),
        cmocka_unit_test(test_mac_values),
        cmocka_unit_test(test_mac_options),
        cmocka_unit_test(test_cidr_option),
        cmocka_unit_test(test_cidr6_option),
        cmocka_unit_test(test_bess_conflicts),
        cmocka_unit_test(test_tapfd_conflicts),
        cmocka_unit_test(test_target_errors),
        cmocka_unit_test(test_unknown_options),
        cmocka_unit_test(test_missing_arguments),
        cmocka_unit_test(test_api_socket_path),
        cmocka_unit_test(test_empty_values),
        cmocka_unit_test(test_options_after_target),
        cmocka_unit_test(test_abbreviated_long_options),
        cmocka_unit_test(test_repeated_parses),
        cmocka_unit_test(test_port_forward_mode),
        cmocka_unit_test(test_busy_poll),
        cmocka_unit_test(test_tcp_path),
        cmocka_unit_test(test_udp_path),
        cmocka_unit_test(test_pcap),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
