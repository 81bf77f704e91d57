// SPDX-License-Identifier: GPL-2.0-or-later
// test_files.cpp: the iostream-free file helpers (files.hpp): symlink
// targets resolved lexically, and short writes to existing files only.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "files.hpp"

#include "cmocka.hpp"

namespace {

void check(const char* link, const char* target, const char* expected) {
    assert_string_equal(resolve_link_target(link, target).c_str(), expected);
}

void absolute_targets_are_normalized(void**) {
    check("/etc/resolv.conf", "/run/systemd/resolve/stub-resolv.conf",
          "/run/systemd/resolve/stub-resolv.conf");
    check("/etc/resolv.conf", "/etc/../var/run/resolv.conf", "/var/run/resolv.conf");
    check("/etc/resolv.conf", "//run/./x//y/", "/run/x/y");
    check("/etc/resolv.conf", "/../../x", "/x");  // ".." stops at the root
    check("/etc/resolv.conf", "/", "/");
}

void relative_targets_start_at_the_link_directory(void**) {
    check("/etc/resolv.conf", "resolv.real", "/etc/resolv.real");
    check("/etc/resolv.conf", "../run/resolv.conf", "/run/resolv.conf");
    check("/tmp/a/b/link", "../../../../etc/hosts", "/etc/hosts");
    check("/tmp/a/link", "./c/./d/..", "/tmp/a/c");
    check("/link", "x", "/x");
    check("/etc/resolv.conf", "..", "/");
}

void writes_only_existing_files(void**) {
    char dir[] = "/tmp/test_files.XXXXXX";
    assert_non_null(mkdtemp(dir));
    std::string path = std::string(dir) + "/f";
    std::string err;
    assert_false(write_file(path, "1", &err));  // no O_CREAT
    assert_string_equal(err.c_str(),
                        ("cannot open " + path + ": No such file or directory").c_str());
    int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_true(write_file(path, "hello", nullptr));
    char buf[16] = {};
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    assert_int_equal(read(fd, buf, sizeof buf), 5);
    close(fd);
    assert_string_equal(buf, "hello");
    unlink(path.c_str());
    rmdir(dir);
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(absolute_targets_are_normalized),
        cmocka_unit_test(relative_targets_start_at_the_link_directory),
        cmocka_unit_test(writes_only_existing_files),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
