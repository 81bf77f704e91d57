// unix_socket.cpp: safe listening unix sockets (see unix_socket.hpp).
#include "unix_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace {

std::string describe(const std::string& what, const std::string& path) {
    return what + " \"" + path + "\": " + std::strerror(errno);
}

// A socket nobody accepts on is stale: connecting to it is refused.
bool is_stale_socket(const std::string& path, int type) {
    UniqueFd probe(socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return false;
    return errno == ECONNREFUSED || errno == EPROTOTYPE;
}

}  // namespace

UniqueFd listen_unix_socket(const std::string& path, int type, int backlog, std::string* error) {
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        *error = "socket path \"" + path + "\" is empty or too long";
        return {};
    }
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            // The original's bind fails here with EADDRINUSE: its words stay.
            *error = "refusing to replace \"" + path +
                     "\": it exists and is not a socket (Address already in use)";
            return {};
        }
        if (!is_stale_socket(path, type)) {
            *error = "socket \"" + path + "\" is in use by another process";
            return {};
        }
        unlink(path.c_str());
    }
    UniqueFd fd(socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        *error = describe("cannot create socket for", path);
        return {};
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    // The umask makes the file owner-only from its first instant, so no other
    // user can connect between bind() and a later chmod().
    mode_t old_mask = umask(0177);
    int bound = bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    umask(old_mask);
    if (bound < 0) {
        *error = describe("cannot bind", path);
        return {};
    }
    if (listen(fd.get(), backlog) < 0) {
        *error = describe("cannot listen on", path);
        unlink(path.c_str());
        return {};
    }
    return fd;
}

bool SocketFile::remember(const std::string& path, std::string* error) {
    std::string dir = ".";
    std::string name = path;
    if (auto slash = path.rfind('/'); slash != std::string::npos) {
        dir = slash == 0 ? "/" : path.substr(0, slash);
        name = path.substr(slash + 1);
    }
    UniqueFd directory(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat st {};
    if (!directory || fstatat(directory.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        *error = describe("cannot find the socket file", path);
        return false;
    }
    directory_ = std::move(directory);
    name_ = std::move(name);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    return true;
}

void SocketFile::remove() {
    if (!directory_) return;
    struct stat st {};
    if (fstatat(directory_.get(), name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        st.st_dev == dev_ && st.st_ino == ino_)
        unlinkat(directory_.get(), name_.c_str(), 0);
    directory_.reset();
}
