// SPDX-License-Identifier: GPL-2.0-or-later
// unix_socket.cpp: safe listening unix sockets (see unix_socket.hpp).
#include "unix_socket.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"

namespace {

std::string describe(const std::string& what, const std::string& path) {
    return errno_text(what + " \"" + path + "\"");
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

bool listen_unix_socket(const std::string& path, int type, int backlog, UniqueFd* listener,
                        std::string* err) {
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return fail(err, "socket path \"" + path + "\" is empty or too long");
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return fail(err, "refusing to replace \"" + path +
                                 "\": it exists and is not a socket (Address already in use)");
        if (!is_stale_socket(path, type))
            return fail(err, "socket \"" + path + "\" is in use by another process");
        unlink(path.c_str());
    }
    UniqueFd fd(socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fail(err, describe("cannot create socket for", path));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    // The umask makes the file owner-only from its first instant, so no other
    // user can connect between bind() and a later chmod().
    mode_t old_mask = umask(0177);
    int bound = bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    umask(old_mask);
    if (bound < 0) return fail(err, describe("cannot bind", path));
    if (listen(fd.get(), backlog) < 0) {
        std::string why = describe("cannot listen on", path);
        unlink(path.c_str());
        return fail(err, why);
    }
    *listener = std::move(fd);
    return true;
}

bool SocketFile::remember(const std::string& path, std::string* err) {
    std::string dir = ".";
    std::string name = path;
    if (auto slash = path.rfind('/'); slash != std::string::npos) {
        dir = slash == 0 ? "/" : path.substr(0, slash);
        name = path.substr(slash + 1);
    }
    UniqueFd directory(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat st {};
    if (!directory || fstatat(directory.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fail(err, describe("cannot find the socket file", path));
    directory_ = std::move(directory);
    directory_path_ = std::move(dir);
    name_ = std::move(name);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    return true;
}

bool SocketFile::narrow(std::string* err) {
    if (!directory_) return true;
    UniqueFd again(open(directory_path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat then {};
    struct stat now {};
    if (!again || fstat(again.get(), &now) < 0 || fstat(directory_.get(), &then) < 0)
        return fail(err, describe("cannot reopen the directory", directory_path_));
    if (now.st_dev != then.st_dev || now.st_ino != then.st_ino)
        return fail(
            err, "directory \"" + directory_path_ + "\" was replaced since the socket was bound");
    // Recursive: a non-recursive copy is refused over mounts locked beneath
    // the directory (a rootless daemon's view of, say, /run/user/N/doc).
    UniqueFd copy(static_cast<int>(
        syscall(SYS_open_tree, again.get(), "",
                OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE)));
    if (!copy) return fail(err, describe("cannot copy the mount of", directory_path_));
    directory_ = std::move(copy);
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
