// SPDX-License-Identifier: GPL-2.0-or-later
// interface.hpp owns --configure: bringing lo and the tap up inside the
// target namespace and giving the tap its MTU, MAC, address and default route.
// It runs in the child that has already joined the namespaces.
#pragma once

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
