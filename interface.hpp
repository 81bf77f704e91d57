// SPDX-License-Identifier: GPL-2.0-or-later
// interface.hpp owns --configure: bringing lo and the tap up inside the
// target namespace and giving the tap its MTU, MAC, address and default route.
// It runs in the child that has already joined the namespaces. Its steps
// also set up the kernel TCP path's own tap (private_netns.hpp).
#pragma once

#include <netinet/in.h>

#include <optional>
#include <string>

#include "network.hpp"
#include "options.hpp"

struct InterfaceSettings {
    std::string name;
    unsigned mtu = 1500;
    std::optional<MacAddress> mac;
    Network network;
    bool enable_ipv6 = false;
};

bool configure_interface(const InterfaceSettings& settings, std::string* err);

// The steps, on an interface of the caller's network namespace; sock is any
// AF_INET datagram socket there. Each failure names the interface.
bool raise_interface_flags(int sock, const std::string& name, short flags, std::string* err);
bool set_interface_mtu(int sock, const std::string& name, unsigned mtu, std::string* err);
bool set_interface_mac(int sock, const std::string& name, const MacAddress& mac, std::string* err);
bool set_interface_ipv4(int sock, const std::string& name, in_addr address, in_addr netmask,
                        std::string* err);
