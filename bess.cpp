// bess.cpp: the BESS listening socket (see bess.hpp).
#include "bess.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "unix_socket.hpp"

UniqueFd listen_bess(const std::string& path, std::string* error) {
    return listen_unix_socket(path, SOCK_SEQPACKET, 1, error);
}
