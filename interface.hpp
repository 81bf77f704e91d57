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

// Returns "" on success, else one line naming what failed.
std::string configure_interface(const InterfaceSettings& settings);
