// SPDX-License-Identifier: GPL-2.0-or-later
// outbound.hpp owns --outbound-addr and --outbound-addr6: each takes an
// address literal or an interface name, resolved here to a socket address.
#pragma once

#include <netinet/in.h>

#include <string>

bool resolve_outbound4(const std::string& text, sockaddr_in* out, std::string* err);
bool resolve_outbound6(const std::string& text, sockaddr_in6* out, std::string* err);
