// SPDX-License-Identifier: GPL-2.0-or-later
// test_bess.cpp: the BESS listener and the socket-file bookkeeping it relies
// on (SocketFile): one message is one frame, the file goes away with the
// listener, and a file that is not ours is never removed.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "bess.hpp"

#include "cmocka.hpp"

namespace {

std::string temp_dir() {
    char pattern[] = "/tmp/s4n-unit-bess.XXXXXX";
    char* dir = mkdtemp(pattern);
    assert_non_null(dir);
    return dir;
}

bool exists(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0;
}

UniqueFd connect_seqpacket(const std::string& path) {
    UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
    return fd;
}

// The listener, or null with *error set.
std::unique_ptr<BessListener> listen_at(const std::string& path, std::string* error) {
    std::unique_ptr<BessListener> listener;
    if (!BessListener::listen(path, &listener, error)) assert_null(listener.get());
    return listener;
}

void test_frames_keep_their_boundaries(void**) {
    std::string dir = temp_dir();
    std::string path = dir + "/bess.sock";
    std::string error;
    auto listener = listen_at(path, &error);
    assert_non_null(listener.get());
    assert_false(listener->accept_client().valid());  // nobody there yet
    UniqueFd client = connect_seqpacket(path);
    assert_true(client.valid());
    UniqueFd server = listener->accept_client();
    assert_true(server.valid());
    listener.reset();
    assert_false(exists(path));  // gone once the one client is in
    assert_int_equal(write(client.get(), "first frame", 11), 11);
    assert_int_equal(write(client.get(), "second", 6), 6);
    char buf[64];
    assert_int_equal(read(server.get(), buf, sizeof buf), 11);
    assert_int_equal(read(server.get(), buf, sizeof buf), 6);
    assert_int_equal(write(server.get(), "reply", 5), 5);
    assert_int_equal(read(client.get(), buf, sizeof buf), 5);
    rmdir(dir.c_str());
}

void test_file_removed_without_client(void**) {
    std::string dir = temp_dir();
    std::string path = dir + "/bess.sock";
    std::string error;
    auto listener = listen_at(path, &error);
    assert_non_null(listener.get());
    assert_true(exists(path));
    listener.reset();
    assert_false(exists(path));
    rmdir(dir.c_str());
}

void test_successor_file_is_not_removed(void**) {
    std::string dir = temp_dir();
    std::string path = dir + "/bess.sock";
    std::string error;
    auto listener = listen_at(path, &error);
    assert_non_null(listener.get());
    // Someone replaces the file: ours must not take theirs away.
    unlink(path.c_str());
    FILE* f = std::fopen(path.c_str(), "w");
    assert_non_null(f);
    std::fclose(f);
    listener.reset();
    assert_true(exists(path));
    unlink(path.c_str());
    rmdir(dir.c_str());
}

void test_refuses_regular_file_and_long_path(void**) {
    std::string dir = temp_dir();
    std::string path = dir + "/not-a-socket";
    FILE* f = std::fopen(path.c_str(), "w");
    assert_non_null(f);
    std::fclose(f);
    std::string error;
    assert_null(listen_at(path, &error).get());
    assert_non_null(std::strstr(error.c_str(), "not a socket"));
    assert_true(exists(path));
    unlink(path.c_str());
    error.clear();
    assert_null(listen_at(dir + "/" + std::string(120, 'x'), &error).get());
    assert_false(error.empty());
    rmdir(dir.c_str());
}

void test_stale_socket_replaced(void**) {
    std::string dir = temp_dir();
    std::string path = dir + "/bess.sock";
    std::string error;
    auto first = listen_at(path, &error);
    assert_non_null(first.get());
    // A second instance while the first listens: refused, first untouched.
    assert_null(listen_at(path, &error).get());
    assert_true(exists(path));
    // A dead instance's socket (bound, nobody listening) is replaced.
    {
        UniqueFd dead(socket(AF_UNIX, SOCK_SEQPACKET, 0));
        first.reset();
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        assert_int_equal(bind(dead.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    }
    auto second = listen_at(path, &error);
    assert_non_null(second.get());
    second.reset();
    assert_false(exists(path));
    rmdir(dir.c_str());
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_keep_their_boundaries),
        cmocka_unit_test(test_file_removed_without_client),
        cmocka_unit_test(test_successor_file_is_not_removed),
        cmocka_unit_test(test_refuses_regular_file_and_long_path),
        cmocka_unit_test(test_stale_socket_replaced),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
