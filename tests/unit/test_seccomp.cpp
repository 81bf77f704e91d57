// SPDX-License-Identifier: GPL-2.0-or-later
// test_seccomp.cpp: the confinement pieces that can be checked without
// namespaces: the seccomp filter (in a forked child, so the test runner stays
// unfiltered) refuses calls outside its list with EPERM and lets listed ones
// through; the sandbox's resolv.conf symlink check.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sandbox.hpp"
#include "seccomp.hpp"

#include "cmocka.hpp"

namespace {

// Why resolv.conf at path would be unreadable in the sandbox; "" if it would not.
std::string escape(const std::string& path) {
    std::string error;
    return resolv_conf_reachable(path, &error) ? "" : error;
}

// Child exit codes: which check failed (0: all passed).
enum ChildResult {
    kOk = 0,
    kInstallFailed = 10,
    kAllowedFailed,
    kNotRefused,
    kWrongErrno,
};

// Runs check() in a child after installing the filter; returns its exit code,
// or -signal if it was killed (which the filter must never do).
template <typename Check>
int in_filtered_child(Check check) {
    pid_t pid = fork();
    if (pid == 0) {
        std::string error;
        if (!install_seccomp_filter(&error)) _exit(kInstallFailed);
        _exit(check());
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return WEXITSTATUS(status);
}

int refused_with_eperm(long rc) {
    if (rc != -1) return kNotRefused;
    return errno == EPERM ? kOk : kWrongErrno;
}

void test_listed_calls_work(void**) {
    int result = in_filtered_child([] {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return kAllowedFailed;
        if (close(fd) < 0) return kAllowedFailed;
        if (syscall(SYS_getpid) != getpid()) return kAllowedFailed;
        if (write(STDERR_FILENO, "", 0) < 0) return kAllowedFailed;
        return kOk;
    });
    assert_int_equal(result, kOk);
}

void test_uname_refused_with_eperm(void**) {
    // Not on the list: nothing the running daemon does asks for it.
    int result = in_filtered_child([] {
        utsname name;
        return refused_with_eperm(uname(&name));
    });
    assert_int_equal(result, kOk);
}

void test_socketpair_allowed(void**) {
    // The DNS forwarder makes one per guest TCP connection to the DNS address.
    int result = in_filtered_child([] {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) return kAllowedFailed;
        close(pair[0]);
        close(pair[1]);
        return kOk;
    });
    assert_int_equal(result, kOk);
}

void test_mount_refused_with_eperm(void**) {
    // A target that does not exist: unfiltered, this fails with ENOENT
    // (kWrongErrno) and never touches a real mount.
    int result = in_filtered_child(
        [] { return refused_with_eperm(mount("tmpfs", "/nonexistent/s4n", "tmpfs", 0, nullptr)); });
    assert_int_equal(result, kOk);
}

void test_ptrace_refused_with_eperm(void**) {
    int result = in_filtered_child(
        [] { return refused_with_eperm(ptrace(PTRACE_TRACEME, 0, nullptr, nullptr)); });
    assert_int_equal(result, kOk);
}

void test_personality_refused_with_eperm(void**) {
    // 0xffffffff only queries: harmless if the filter were missing, which
    // would show as kNotRefused rather than as a changed process.
    int result = in_filtered_child([] { return refused_with_eperm(personality(0xffffffff)); });
    assert_int_equal(result, kOk);
}

void test_exec_and_namespaces_refused(void**) {
    int result = in_filtered_child([] {
        // A path that does not exist: unfiltered, execve fails with ENOENT
        // (kWrongErrno), never runs anything.
        char* argv[] = {const_cast<char*>("/nonexistent/s4n"), nullptr};
        int r = refused_with_eperm(execve(argv[0], argv, environ));
        if (r != kOk) return r;
        r = refused_with_eperm(unshare(CLONE_NEWNS));
        if (r != kOk) return r;
        return refused_with_eperm(syscall(SYS_fork));
    });
    assert_int_equal(result, kOk);
}

// A directory of symlinks for the resolv.conf check; removed at teardown.
struct LinkDir {
    std::string path;
};

int make_link_dir(void** state) {
    char tmpl[] = "/tmp/s4n-unit-resolv.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return -1;
    *state = new LinkDir{tmpl};
    return 0;
}

int remove_link_dir(void** state) {
    auto* dir = static_cast<LinkDir*>(*state);
    std::string cmd = "rm -rf '" + dir->path + "'";
    int rc = std::system(cmd.c_str());
    delete dir;
    return rc == 0 ? 0 : -1;
}

std::string link_in(void** state, const char* name, const char* target) {
    std::string path = static_cast<LinkDir*>(*state)->path + "/" + name;
    if (symlink(target, path.c_str()) < 0)
        fail_msg("symlink %s: %s", path.c_str(), strerror(errno));
    return path;
}

void test_resolv_regular_file_is_fine(void** state) {
    std::string path = static_cast<LinkDir*>(*state)->path + "/plain";
    int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
    assert_string_equal(escape(path).c_str(), "");
    assert_string_equal(escape(path + "-absent").c_str(), "");
}

void test_resolv_links_into_etc_and_run_are_fine(void** state) {
    assert_string_equal(escape(link_in(state, "a", "/etc/hosts")).c_str(), "");
    assert_string_equal(
        escape(link_in(state, "b", "/run/systemd/resolve/stub-resolv.conf")).c_str(), "");
    // Relative, climbing out of the temporary directory into /etc.
    assert_string_equal(escape(link_in(state, "c", "../../etc/hosts")).c_str(), "");
}

void test_resolv_link_outside_is_refused(void** state) {
    std::string error = escape(link_in(state, "d", "/tmp/elsewhere.conf"));
    assert_non_null(strstr(error.c_str(), "-> /tmp/elsewhere.conf"));
    assert_non_null(strstr(error.c_str(), "outside /etc and /run"));
    // Lexically inside /etc but written with "..": normalized before judging.
    error = escape(link_in(state, "e", "/etc/../var/run/resolv.conf"));
    assert_non_null(strstr(error.c_str(), "-> /var/run/resolv.conf"));
    // "/etcetera" is not under /etc.
    error = escape(link_in(state, "f", "/etcetera/resolv.conf"));
    assert_non_null(strstr(error.c_str(), "outside /etc and /run"));
}

void test_resolv_relative_link_stays_outside(void** state) {
    // A chain: the first hop stays in the (outside) temporary directory.
    link_in(state, "g-target", "/etc/hosts");
    std::string error = escape(link_in(state, "g", "g-target"));
    assert_non_null(strstr(error.c_str(), "g-target"));
    assert_non_null(strstr(error.c_str(), "outside /etc and /run"));
}

}  // namespace

int main() {
    // One group: tests/run.sh reads one PASSED/FAILED summary per binary.
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_listed_calls_work),
        cmocka_unit_test(test_uname_refused_with_eperm),
        cmocka_unit_test(test_socketpair_allowed),
        cmocka_unit_test(test_mount_refused_with_eperm),
        cmocka_unit_test(test_ptrace_refused_with_eperm),
        cmocka_unit_test(test_personality_refused_with_eperm),
        cmocka_unit_test(test_exec_and_namespaces_refused),
        cmocka_unit_test_setup_teardown(test_resolv_regular_file_is_fine, make_link_dir,
                                        remove_link_dir),
        cmocka_unit_test_setup_teardown(test_resolv_links_into_etc_and_run_are_fine, make_link_dir,
                                        remove_link_dir),
        cmocka_unit_test_setup_teardown(test_resolv_link_outside_is_refused, make_link_dir,
                                        remove_link_dir),
        cmocka_unit_test_setup_teardown(test_resolv_relative_link_stays_outside, make_link_dir,
                                        remove_link_dir),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
