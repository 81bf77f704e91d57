// SPDX-License-Identifier: GPL-2.0-or-later
// options.cpp parses and validates the command line (see options.hpp).
#include "options.hpp"

#include <getopt.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "error.hpp"

namespace {

enum LongOnly {
    kCidr = 0x100,
    kDisableHostLoopback,
    kNetnsType,
    kUsernsPath,
    kEnableSandbox,
    kEnableSeccomp,
    kOutboundAddr,
    kOutboundAddr6,
    kDisableDns,
    kMacAddress,
    kTargetType,
    kPortForwardMode,
    kBusyPoll,
    kTcpPath,
    kPcap,
    kUdpPath,
};

const option kLongOptions[] = {
    {"configure", no_argument, nullptr, 'c'},
    {"exit-fd", required_argument, nullptr, 'e'},
    {"ready-fd", required_argument, nullptr, 'r'},
    {"mtu", required_argument, nullptr, 'm'},
    {"enable-ipv6", no_argument, nullptr, '6'},
    {"api-socket", required_argument, nullptr, 'a'},
    {"cidr", required_argument, nullptr, kCidr},
    {"disable-host-loopback", no_argument, nullptr, kDisableHostLoopback},
    {"netns-type", required_argument, nullptr, kNetnsType},
    {"userns-path", required_argument, nullptr, kUsernsPath},
    {"enable-sandbox", no_argument, nullptr, kEnableSandbox},
    {"enable-seccomp", no_argument, nullptr, kEnableSeccomp},
    {"outbound-addr", required_argument, nullptr, kOutboundAddr},
    {"outbound-addr6", required_argument, nullptr, kOutboundAddr6},
    {"disable-dns", no_argument, nullptr, kDisableDns},
    {"macaddress", required_argument, nullptr, kMacAddress},
    {"target-type", required_argument, nullptr, kTargetType},
    {"port-forward-mode", required_argument, nullptr, kPortForwardMode},
    {"busy-poll", required_argument, nullptr, kBusyPoll},
    {"tcp-path", required_argument, nullptr, kTcpPath},
    {"pcap", required_argument, nullptr, kPcap},
    {"udp-path", required_argument, nullptr, kUdpPath},
    {"help", no_argument, nullptr, 'h'},
    {"version", no_argument, nullptr, 'v'},
    {nullptr, 0, nullptr, 0},
};

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Applies one option.
bool apply_option(Options& o, int c, const std::string& value, std::string* err) {
    switch (c) {
        case 'c':
            o.configure = true;
            return true;
        case 'e':
        case 'r': {
            auto fd = parse_fd_number(value);
            const char* name = c == 'e' ? "exit-fd" : "ready-fd";
            if (!fd)
                return fail(err, std::string(name) + " must be a non-negative integer, got \"" +
                                     value + "\"");
            (c == 'e' ? o.exit_fd : o.ready_fd) = *fd;
            return true;
        }
        case 'm':
            return parse_mtu(value, &o.mtu, err);
        case '6':
            o.enable_ipv6 = true;
            return true;
        case 'a':
            if (value.empty()) return fail(err, "api-socket path must not be empty");
            if (value.size() >= sizeof(sockaddr_un::sun_path))
                return fail(err, "API socket path is too long (" + std::to_string(value.size()) +
                                     " bytes, the limit is " +
                                     std::to_string(sizeof(sockaddr_un::sun_path) - 1) + ")");
            o.api_socket = value;
            return true;
        case kCidr: {
            bool ipv6 = cidr_is_ipv6(value);
            bool& given = ipv6 ? o.cidr6_given : o.cidr_given;
            if (given)
                return fail(err, std::string("--cidr \"") + value + "\": an " +
                                     (ipv6 ? "IPv6 prefix" : "IPv4 network") +
                                     " is already given (--cidr takes one of each family)");
            given = true;
            return ipv6 ? parse_cidr6(value, &o.network6, err) : parse_cidr(value, &o.network, err);
        }
        case kDisableHostLoopback:
            o.disable_host_loopback = true;
            return true;
        case kNetnsType:
            o.netns_type_given = true;
            if (value == "pid")
                o.netns_type = NetnsType::Pid;
            else if (value == "path")
                o.netns_type = NetnsType::Path;
            else if (value == "tapfd")
                o.netns_type = NetnsType::TapFd;
            else
                return fail(err,
                            "unknown netns-type \"" + value + "\" (expected pid, path or tapfd)");
            return true;
        case kUsernsPath:
            if (value.empty()) return fail(err, "userns path doesn't exist: the path is empty");
            o.userns_path = value;
            return true;
        case kEnableSandbox:
            o.enable_sandbox = true;
            return true;
        case kEnableSeccomp:
            o.enable_seccomp = true;
            return true;
        case kOutboundAddr:
            if (value.empty())
                return fail(
                    err, "outbound-addr has to be valid ipv4 address or interface name, not empty");
            o.outbound_addr = value;
            return true;
        case kOutboundAddr6:
            if (value.empty())
                return fail(
                    err,
                    "outbound-addr6 has to be valid ipv6 address or interface name, not empty");
            o.outbound_addr6 = value;
            return true;
        case kDisableDns:
            o.disable_dns = true;
            return true;
        case kMacAddress: {
            MacAddress mac;
            if (!parse_mac(value, &mac, err)) return false;
            o.mac = mac;
            return true;
        }
        case kTargetType:
            if (value == "netns")
                o.target_type = TargetType::Netns;
            else if (value == "bess")
                o.target_type = TargetType::Bess;
            else
                return fail(err, "--target-type must be either \"netns\" or \"bess\", got \"" +
                                     value + "\"");
            return true;
        case kPortForwardMode:
            o.port_forward_mode_given = true;
            if (value == "slirp")
                o.port_forward_mode = PortForwardMode::Slirp;
            else if (value == "splice")
                o.port_forward_mode = PortForwardMode::Splice;
            else if (value == "auto")
                o.port_forward_mode = PortForwardMode::Auto;
            else
                return fail(err, "unknown port-forward-mode \"" + value +
                                     "\" (expected auto, slirp or splice)");
            return true;
        case kTcpPath:
            o.tcp_path = TcpPath::Kernel;
            if (value == "slirp")
                o.tcp_path = TcpPath::Slirp;
            else if (value == "kernel")
                o.tcp_delivery = TcpDelivery::Auto;
            else if (value == "redirect")
                o.tcp_delivery = TcpDelivery::Redirect;
            else if (value == "bridge")
                o.tcp_delivery = TcpDelivery::Bridge;
            else
                return fail(err, "unknown tcp-path \"" + value +
                                     "\" (expected kernel, redirect, bridge or slirp)");
            return true;
        case kUdpPath:
            o.udp_path_given = true;
            o.udp_path = UdpPath::Kernel;
            o.udp_delivery = UdpDelivery::Auto;
            if (value == "tap")
                o.udp_delivery = UdpDelivery::Tap;
            else if (value == "slirp")
                o.udp_path = UdpPath::Slirp;
            else if (value != "kernel")
                return fail(err,
                            "unknown udp-path \"" + value + "\" (expected kernel, tap or slirp)");
            return true;
        case kPcap:
            if (value.empty()) return fail(err, "--pcap needs a file name");
            o.pcap_path = value;
            return true;
        case kBusyPoll: {
            auto us = parse_decimal(value, 0, kMaxBusyPollUs);
            if (!us)
                return fail(err, "invalid busy-poll \"" + value + "\" (0 to " +
                                     std::to_string(kMaxBusyPollUs) + " microseconds)");
            o.busy_poll_us = static_cast<unsigned>(*us);
            return true;
        }
        case 'h':
            o.action = Action::Help;
            return true;
        case 'v':
            o.action = Action::Version;
            return true;
    }
    return fail(err, "unknown option");
}

bool validate_combination(Options& o, const std::vector<std::string>& positional,
                          std::string* err) {
    if (positional.empty()) {
        if (o.target_type == TargetType::Bess) return fail(err, "missing PATH of the BESS socket");
        return fail(err, "missing PID, PATH or FD (see --help)");
    }
    if (positional.size() > 2)
        return fail(err, "too many arguments: unexpected \"" + positional[2] + "\"");
    o.target = positional[0];
    if (positional.size() == 2) {
        if (o.target_type == TargetType::Bess)
            return fail(err, "too many arguments: a TAPNAME is not used with --target-type=bess");
        const std::string& name = positional[1];
        if (name.empty() || name.size() >= 16 || name.find_first_of("/ \t\n:") != std::string::npos)
            return fail(err, "invalid TAPNAME \"" + name +
                                 "\" (1 to 15 characters, no '/', ':' or spaces)");
        o.tap_name = name;
    }
    if (!o.udp_path_given)
        o.udp_path = o.tcp_path == TcpPath::Slirp ? UdpPath::Slirp : UdpPath::Kernel;
    if (o.mac && !o.configure)
        return fail(err,
                    "--macaddress cannot be specified when --configure or -c is not specified");
    // Splice mode opens sockets inside a network namespace: a tap FD or a BESS
    // socket names none, so there only the slirp mode works.
    if (o.target_type == TargetType::Bess || o.netns_type == NetnsType::TapFd) {
        if (o.port_forward_mode_given && o.port_forward_mode == PortForwardMode::Splice)
            return fail(err,
                        "--port-forward-mode=splice needs a network namespace target (not "
                        "--netns-type=tapfd or --target-type=bess)");
        o.port_forward_mode = PortForwardMode::Slirp;
    }
    if (o.target_type == TargetType::Bess) {
        if (o.configure) return fail(err, "--configure conflicts with --target-type=bess");
        if (o.netns_type_given) return fail(err, "--netns-type conflicts with --target-type=bess");
        if (!o.userns_path.empty())
            return fail(err, "--userns-path conflicts with --target-type=bess");
        if (o.target.size() >= sizeof(sockaddr_un::sun_path))
            return fail(err, "BESS socket path is too long");
        return true;
    }
    switch (o.netns_type) {
        case NetnsType::Pid: {
            auto pid = parse_decimal(o.target, 1, 0x3fffffff);
            if (!pid) return fail(err, "PID must be a positive integer, got \"" + o.target + "\"");
            o.target_pid = static_cast<pid_t>(*pid);
            break;
        }
        case NetnsType::Path:
            if (o.target.empty())
                return fail(err,
                            "existing path expected when --netns-type=path: the path is empty");
            break;
        case NetnsType::TapFd: {
            auto fd = parse_fd_number(o.target);
            if (!fd)
                return fail(err, "tap FD must be a non-negative integer, got \"" + o.target + "\"");
            if (o.configure) return fail(err, "--configure cannot be used with --netns-type=tapfd");
            if (!o.userns_path.empty())
                return fail(err, "--userns-path cannot be used with --netns-type=tapfd");
            o.tap_fd = *fd;
            break;
        }
    }
    // The original reads a missing TAPNAME as a usage error, whatever its
    // help text suggests; a tap FD needs none.
    if (positional.size() < 2 && o.netns_type != NetnsType::TapFd)
        return fail(err, "missing TAPNAME (e.g. tap0) after \"" + o.target + "\" (see --help)");
    // IPv6's own minimum, and more: libslirp 4.7.0 builds its DHCPv6 reply in
    // an MTU-sized buffer that a guest can overflow below about 400 bytes
    // (CVE-2026-95508, doc/libslirp-audit.md), which the original allows.
    if (o.enable_ipv6 && o.mtu < 1280) return fail(err, "IPv6 needs an MTU of at least 1280");
    if (o.cidr6_given && !o.enable_ipv6)
        return fail(err, "--cidr " + ipv6_to_string(o.network6.prefix) +
                             "/64 is an IPv6 prefix: it needs --enable-ipv6 (-6)");
    return true;
}

// The long option `word` ("--name" or "--name=value") names, possibly
// abbreviated: its val, 0 when it names none, -1 when it names several.
int long_option_val(const std::string& word) {
    std::string name = word.substr(2, word.find('=') - 2);
    int found = 0;
    for (const option* o = kLongOptions; o->name; o++) {
        std::string candidate = o->name;
        if (candidate == name) return o->val;
        if (!name.empty() && candidate.rfind(name, 0) == 0) found = found ? -1 : o->val;
    }
    return found;
}

// Names the offending option after getopt_long returned '?' or ':'. `last`
// is argv[optind - 1]: the element just finished, which is the offending one
// for long options; a short option inside a "-cx" cluster is named by optopt.
std::string getopt_error(int c, const std::string& last) {
    bool is_long = last.rfind("--", 0) == 0 && last.size() > 2 &&
                   (optopt == 0 || optopt == long_option_val(last));
    if (is_long) {
        std::string name = last.substr(0, last.find('='));
        if (c == ':') return "option \"" + name + "\" requires an argument";
        if (optopt != 0) return "option \"" + name + "\" doesn't allow an argument";
        if (long_option_val(last) < 0) return "option \"" + name + "\" is ambiguous";
        return "unrecognized option \"" + name + "\"";
    }
    std::string name = std::string("-") + static_cast<char>(optopt);
    if (c == ':') return "option \"" + name + "\" requires an argument";
    return "invalid option \"" + name + "\"";
}

}  // namespace

std::optional<long> parse_decimal(const std::string& text, long min, long max) {
    if (text.empty() || text.size() > 18 ||
        text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    long value = std::strtol(text.c_str(), nullptr, 10);
    if (value < min || value > max) return std::nullopt;
    return value;
}

bool parse_mtu(const std::string& text, unsigned* mtu, std::string* err) {
    auto value = parse_decimal(text, 0, 1L << 40);
    if (!value) return fail(err, "MTU must be a positive integer (< 65522), got \"" + text + "\"");
    if (*value == 0 || *value > 65521)
        return fail(err, "MTU must be a positive integer (< 65522), got " + text);
    if (*value < 68) return fail(err, "MTU must be between 68 and 65521, got " + text);
    *mtu = static_cast<unsigned>(*value);
    return true;
}

std::optional<int> parse_fd_number(const std::string& text) {
    auto value = parse_decimal(text, 0, 0x7fffffff);
    if (!value) return std::nullopt;
    return static_cast<int>(*value);
}

// Six colon-separated groups of one or two hex digits ("2:0:0:0:0:1" is
// accepted, as ether_aton and the original slirp4netns accept it).
bool parse_mac(const std::string& text, MacAddress* out, std::string* err) {
    auto invalid = [&] {
        return fail(err, "\"" + text +
                             "\" is an invalid MAC address (expected six hex bytes separated by "
                             "':', like 02:00:00:00:00:01)");
    };
    MacAddress mac{};
    size_t pos = 0;
    for (size_t i = 0; i < mac.size(); i++) {
        if (i > 0 && (pos >= text.size() || text[pos++] != ':')) return invalid();
        int value = 0;
        size_t digits = 0;
        while (pos < text.size() && digits < 3 && hex_digit(text[pos]) >= 0) {
            value = value * 16 + hex_digit(text[pos++]);
            digits++;
        }
        if (digits < 1 || digits > 2) return invalid();
        mac[i] = static_cast<uint8_t>(value);
    }
    if (pos != text.size()) return invalid();
    // The kernel refuses these for an interface; the original only learns
    // that inside the namespace ("cannot set MAC address").
    if ((mac[0] & 1) || mac == MacAddress{})
        return fail(err, "cannot set MAC address \"" + text +
                             "\": a multicast or all-zero address cannot name an interface");
    *out = mac;
    return true;
}

std::string format_mac(const MacAddress& mac) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                  mac[4], mac[5]);
    return buf;
}

bool parse_options(const std::vector<std::string>& args, Options* options, std::string* err) {
    *options = Options{};
    std::vector<std::string> storage(args);
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    int argc = static_cast<int>(storage.size());

    // getopt keeps its cursor in libc globals; optind = 0 restarts it fully so
    // that repeated parses (unit tests) behave like the first.
    optind = 0;
    opterr = 0;
    for (;;) {
        int index = 0;
        // Options may follow the target, as with the original (GNU getopt
        // permutes argv); ":" reports a missing argument as ':' not '?'.
        int c = getopt_long(argc, argv.data(), ":ce:r:m:6a:hv", kLongOptions, &index);
        if (c == -1) break;
        if (c == '?' || c == ':')
            return fail(err, getopt_error(c, optind > 0 && optind <= argc ? argv[optind - 1] : ""));
        if (!apply_option(*options, c, optarg ? optarg : "", err)) return false;
    }
    if (options->action != Action::Run) return true;
    // Permuted: argv (not storage) now lists the non-options last.
    std::vector<std::string> positional(argv.begin() + optind, argv.begin() + argc);
    return validate_combination(*options, positional, err);
}

std::string help_text(const std::string& program) {
    return "Usage: " + program +
           " [OPTION]... PID|PATH TAPNAME  (or --netns-type=tapfd FD)\n"
           "User-mode networking for unprivileged network namespaces.\n"
           "\n"
           "-c, --configure          configure the interface (address, route, MTU) and bring it "
           "up\n"
           "-e, --exit-fd=FD         exit as soon as FD becomes readable or is closed\n"
           "-r, --ready-fd=FD        write \"1\" to FD once the network is configured\n"
           "-m, --mtu=MTU            set the MTU (default=1500, max=65521)\n"
           "-6, --enable-ipv6        enable IPv6 (fd00::/64 or --cidr's prefix, router "
           "advertisements)\n"
           "-a, --api-socket=PATH    listen for API requests on the unix socket PATH\n"
           "--cidr=CIDR              network address CIDR (default=10.0.2.0/24), or with -6 an "
           "IPv6 /64 prefix (default=fd00::/64); once per family\n"
           "--disable-host-loopback  refuse connections to 127.0.0.1:* of the host namespace\n"
           "--netns-type=TYPE        what the argument names ([path|pid|tapfd], default=pid)\n"
           "--userns-path=PATH       user namespace to join before the network namespace\n"
           "--enable-sandbox         run in a new mount namespace holding only /etc and /run "
           "(as root, drop all caps but CAP_NET_BIND_SERVICE)\n"
           "--enable-seccomp         restrict system calls to the ones the loop needs\n"
           "--outbound-addr=IPv4     IPv4 address or interface to send outbound traffic from\n"
           "--outbound-addr6=IPv6    IPv6 address or interface to send outbound traffic from\n"
           "--disable-dns            do not forward DNS queries sent to 10.0.2.3 (or the "
           "configured "
           "address) to the host's resolver\n"
           "--macaddress=MAC         MAC address of the interface (only valid with -c)\n"
           "--target-type=TYPE       what to serve ([netns|bess], default=netns)\n"
           "--port-forward-mode=MODE how API port forwards move data ([auto|slirp|splice], "
           "default=auto: splice, kernel to kernel, showing the guest each client's real "
           "address as slirp does; slirp for forwards remote clients reach if the namespace "
           "refuses the routing splice needs)\n"
           "--busy-poll=USEC         after interactive traffic, poll without sleeping for up to "
           "USEC microseconds before blocking (default=50, 0=never; halves request/response "
           "latency at the cost of CPU time)\n"
           "--tcp-path=PATH          where the guest's TCP to the outside ends "
           "([kernel|redirect|bridge|slirp], default=kernel: in a kernel TCP stack in a private "
           "network namespace, spliced to host sockets, its segments moved there kernel to kernel "
           "by tc (redirect) or else copied by slirp4netns (bridge), falling back to slirp if "
           "that namespace cannot be made; redirect, bridge: only that way, else slirp; slirp: "
           "in libslirp's TCP)\n"
           "--udp-path=PATH          where the guest's UDP to the outside and to the gateway goes "
           "([kernel|tap|slirp], default=kernel, or slirp with --tcp-path=slirp: kernel sends it "
           "from host UDP sockets of slirp4netns, one per guest port, its datagrams moved to "
           "slirp4netns by tc where TCP goes kernel to kernel, else read from the tap; tap: read "
           "from the tap only; slirp: through libslirp)\n"
           "--pcap=FILE              write every frame to and from the guest to FILE, in pcap "
           "format (tcpdump -r FILE)\n"
           "-h, --help               show this help and exit\n"
           "-v, --version            show version and exit\n";
}
