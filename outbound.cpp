// SPDX-License-Identifier: GPL-2.0-or-later
// outbound.cpp resolves outbound addresses (see outbound.hpp).
#include "outbound.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

#include "error.hpp"

namespace {

// Finds the first address of `family` on interface `name`. IPv6 link-local
// addresses are skipped: a socket bound to one cannot reach any other link,
// and getifaddrs often lists the fe80:: address first.
bool address_of_interface(const std::string& name, int family, sockaddr_storage* out,
                          bool* interface_exists) {
    ifaddrs* list = nullptr;
    *interface_exists = false;
    if (getifaddrs(&list) < 0) return false;
    std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> guard(list, freeifaddrs);
    for (ifaddrs* ifa = list; ifa; ifa = ifa->ifa_next) {
        if (name != ifa->ifa_name) continue;
        *interface_exists = true;
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != family) continue;
        if (family == AF_INET6 &&
            IN6_IS_ADDR_LINKLOCAL(&reinterpret_cast<sockaddr_in6*>(ifa->ifa_addr)->sin6_addr))
            continue;
        std::memcpy(out, ifa->ifa_addr,
                    family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
        return true;
    }
    return false;
}

// The original's words ("outbound-addr has to be valid ipv4 address or
// interface name"), which scripts grep, then what exactly is wrong.
std::string has_to_be_valid(const char* option) {
    bool v4 = std::strcmp(option, "outbound-addr") == 0;
    return std::string(option) + " has to be valid " + (v4 ? "ipv4" : "ipv6") +
           " address or interface name";
}

template <typename SockAddr>
bool resolve(const std::string& text, int family, const char* option, SockAddr* resolved,
             std::string* err) {
    SockAddr& out = *resolved;
    out = {};
    void* addr_field;
    if constexpr (sizeof(SockAddr) == sizeof(sockaddr_in)) {
        out.sin_family = AF_INET;
        addr_field = &out.sin_addr;
    } else {
        out.sin6_family = AF_INET6;
        addr_field = &out.sin6_addr;
    }
    if (inet_pton(family, text.c_str(), addr_field) == 1) return true;
    if (text.size() >= IFNAMSIZ)
        return fail(err, has_to_be_valid(option) + ": \"" + text +
                             "\" is neither an address nor an interface");
    sockaddr_storage found{};
    bool exists = false;
    if (address_of_interface(text, family, &found, &exists)) {
        std::memcpy(&out, &found, sizeof out);
        return true;
    }
    return fail(err,
                has_to_be_valid(option) + ": \"" + text + "\" " +
                    (exists ? std::string("has no ") +
                                  (family == AF_INET ? "IPv4" : "non-link-local IPv6") + " address"
                            : "is neither an address nor an interface"));
}

}  // namespace

bool resolve_outbound(const std::string& text4, const std::string& text6, OutboundAddresses* out,
                      std::string* err) {
    if (!text4.empty() && !resolve(text4, AF_INET, "outbound-addr", &out->v4.emplace(), err))
        return false;
    if (!text6.empty() && !resolve(text6, AF_INET6, "outbound-addr6", &out->v6.emplace(), err))
        return false;
    return true;
}

bool OutboundAddresses::bind_socket(int fd, int family) const {
    if (family == AF_INET && v4)
        return bind(fd, reinterpret_cast<const sockaddr*>(&*v4), sizeof *v4) == 0;
    if (family == AF_INET6 && v6)
        return bind(fd, reinterpret_cast<const sockaddr*>(&*v6), sizeof *v6) == 0;
    return true;
}
