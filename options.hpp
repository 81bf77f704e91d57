// SPDX-License-Identifier: GPL-2.0-or-later
// options.hpp owns the command line: the Options every other part reads, the
// parser that fills them from argv, and the --help text. Parsing is pure (no
// I/O, no exits) so that unit tests can drive it with any argv.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "network.hpp"

enum class NetnsType { Pid, Path, TapFd };
enum class TargetType { Netns, Bess };
enum class Action { Run, Help, Version };
// How API port forwards move data: through libslirp, or spliced between a
// host socket and one opened inside the namespace (splice_forward.hpp).
// Auto, the default, splices every forward once the helper has set up
// transparent routing (transparent_routing.hpp), so that the guest sees each
// client's real address as slirp mode shows it. Where the namespace refuses
// that setup, auto splices only what hides nothing: forwards bound to a
// loopback address and those across address families (libslirp cannot carry
// them); forwards that remote clients reach stay slirp, which shows their
// address (what podman's port_handler=slirp4netns and rootlesskit's
// slirp4netns driver promise).
enum class PortForwardMode { Slirp, Splice, Auto };

// Where the guest's TCP connections to the outside end: in libslirp's TCP,
// or in a kernel TCP stack of our own (kernel_tcp.hpp).
enum class TcpPath { Slirp, Kernel };
// How the kernel TCP path's segments reach its private kernel (kernel_tcp.hpp):
// kernel to kernel by tc, else bridged by the daemon; or one of them only.
enum class TcpDelivery { Auto, Redirect, Bridge };
// Where the guest's UDP to the outside and to the gateway goes: through
// libslirp, or through host sockets of our own (kernel_udp.hpp).
enum class UdpPath { Slirp, Kernel };
// How the guest's UDP reaches the kernel UDP path: tc moves it to a packet
// socket's ring where kernel-to-kernel TCP delivery runs (frame_ring.hpp),
// else the daemon reads it from the tap; or from the tap only.
enum class UdpDelivery { Auto, Tap };

using MacAddress = std::array<uint8_t, 6>;

// --busy-poll: how long the loop keeps polling without sleeping after
// interactive traffic. 50 us covers a loopback server's turnaround here;
// beyond a millisecond it would only burn CPU.
constexpr unsigned kDefaultBusyPollUs = 50;
constexpr long kMaxBusyPollUs = 1000;

struct Options {
    Action action = Action::Run;
    bool configure = false;
    int exit_fd = -1;
    int ready_fd = -1;
    unsigned mtu = 1500;
    bool enable_ipv6 = false;
    std::string api_socket;
    Network network = default_network();
    Network6 network6 = default_network6();  // used with enable_ipv6
    // --cidr takes one network per family: a second of either is refused.
    bool cidr_given = false;
    bool cidr6_given = false;
    bool disable_host_loopback = false;
    NetnsType netns_type = NetnsType::Pid;
    bool netns_type_given = false;
    std::string userns_path;
    bool enable_sandbox = false;
    bool enable_seccomp = false;
    std::string outbound_addr;   // IPv4 literal or interface name, as given
    std::string outbound_addr6;  // IPv6 literal or interface name, as given
    bool disable_dns = false;
    PortForwardMode port_forward_mode = PortForwardMode::Auto;
    bool port_forward_mode_given = false;
    unsigned busy_poll_us = kDefaultBusyPollUs;  // see EventLoop::set_busy_poll
    TcpPath tcp_path = TcpPath::Kernel;          // falls back to slirp at start-up
    TcpDelivery tcp_delivery = TcpDelivery::Auto;
    // Without --udp-path, kernel unless --tcp-path=slirp asks for the original.
    UdpPath udp_path = UdpPath::Kernel;
    UdpDelivery udp_delivery = UdpDelivery::Auto;
    bool udp_path_given = false;
    std::string pcap_path;  // --pcap: where frames are captured
    std::optional<MacAddress> mac;
    TargetType target_type = TargetType::Netns;
    // The positional PID, PATH or FD (or the BESS socket path).
    std::string target;
    std::string tap_name = "tap0";
    // Filled from target for the pid and tapfd netns types.
    pid_t target_pid = -1;
    int tap_fd = -1;
};

// Parses argv the way slirp4netns 1.3 does, then validates the combination.
bool parse_options(const std::vector<std::string>& args, Options* options, std::string* err);

// Single-value validators, exposed for unit tests and for the API.
bool parse_mtu(const std::string& text, unsigned* mtu, std::string* err);
std::optional<int> parse_fd_number(const std::string& text);
bool parse_mac(const std::string& text, MacAddress* mac, std::string* err = nullptr);
std::optional<long> parse_decimal(const std::string& text, long min, long max);

std::string help_text(const std::string& program);
std::string format_mac(const MacAddress& mac);
