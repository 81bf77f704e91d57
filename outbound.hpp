// outbound.hpp owns --outbound-addr and --outbound-addr6: each takes an
// address literal or an interface name, resolved here to a socket address.
#pragma once

#include <netinet/in.h>

#include <optional>
#include <string>

std::optional<sockaddr_in> resolve_outbound4(const std::string& text, std::string* error);
std::optional<sockaddr_in6> resolve_outbound6(const std::string& text, std::string* error);
