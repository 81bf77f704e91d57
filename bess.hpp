// bess.hpp owns --target-type=bess: a SOCK_SEQPACKET unix socket where one
// client (User Mode Linux's vector driver) exchanges one Ethernet frame per
// message, instead of a tap device.
#pragma once

#include <string>

#include "unique_fd.hpp"

// Creates the listening socket at path (replacing a stale socket, never any
// other kind of file). Returns an invalid fd and sets *error on failure.
UniqueFd listen_bess(const std::string& path, std::string* error);
