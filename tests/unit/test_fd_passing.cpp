// SPDX-License-Identifier: GPL-2.0-or-later
// test_fd_passing.cpp: descriptors and a message over a unix socket
// (fd_passing.hpp): several in one message arrive in order, each one open
// and naming the file it was sent for; a single-descriptor receive keeps the
// first; no descriptors, a message only; too many are refused; the end of
// the stream and "nothing yet" fail apart.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "fd_passing.hpp"

#include "cmocka.hpp"

namespace {

struct Pair {
    UniqueFd a, b;
    Pair() {
        int fds[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
        a.reset(fds[0]);
        b.reset(fds[1]);
    }
};

ino_t inode_of(int fd) {
    struct stat st {};
    assert_int_equal(fstat(fd, &st), 0);
    return st.st_ino;
}

// Three distinct open files: a pipe's two ends and /dev/null.
struct Files {
    UniqueFd read_end, write_end, null;
    Files() {
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        read_end.reset(p[0]);
        write_end.reset(p[1]);
        null.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
        assert_true(null.valid());
    }
};

void several_descriptors_arrive_in_order(void**) {
    Pair pair;
    Files files;
    std::vector<int> sent{files.null.get(), files.read_end.get(), files.write_end.get()};
    assert_true(send_fds(pair.a.get(), sent, ""));
    std::vector<UniqueFd> got;
    std::string message = "stale";
    assert_true(receive_fds(pair.b.get(), &got, &message, nullptr));
    assert_string_equal(message.c_str(), "");
    assert_int_equal(got.size(), 3);
    for (size_t i = 0; i < got.size(); i++) {
        assert_true(got[i].valid());
        assert_int_not_equal(got[i].get(), sent[i]);  // new descriptors, same files
        assert_int_equal(inode_of(got[i].get()), inode_of(sent[i]));
        assert_true(fcntl(got[i].get(), F_GETFD) & FD_CLOEXEC);
    }
    // The received write end feeds the original read end.
    assert_int_equal(write(got[2].get(), "x", 1), 1);
    char c = 0;
    assert_int_equal(read(files.read_end.get(), &c, 1), 1);
    assert_int_equal(c, 'x');
}

void a_message_alone_carries_no_descriptor(void**) {
    Pair pair;
    assert_true(send_message(pair.a.get(), "cannot create the TCP tap"));
    UniqueFd fd;
    std::string message;
    assert_true(receive_fd(pair.b.get(), &fd, &message, nullptr));
    assert_false(fd.valid());
    assert_string_equal(message.c_str(), "cannot create the TCP tap");
}

void a_single_receive_keeps_the_first(void**) {
    Pair pair;
    Files files;
    std::vector<int> sent{files.null.get(), files.read_end.get()};
    assert_true(send_fds(pair.a.get(), sent, "tap"));
    UniqueFd fd;
    std::string message;
    assert_true(receive_fd(pair.b.get(), &fd, &message, nullptr));
    assert_string_equal(message.c_str(), "tap");
    assert_true(fd.valid());
    assert_int_equal(inode_of(fd.get()), inode_of(files.null.get()));
}

void too_many_descriptors_are_refused(void**) {
    Pair pair;
    Files files;
    std::vector<int> sent(kMaxPassedFds + 1, files.null.get());
    assert_false(send_fds(pair.a.get(), sent, ""));
}

void end_of_stream_is_not_a_message(void**) {
    Pair pair;
    pair.a.reset();
    std::vector<UniqueFd> got;
    std::string message;
    Failure failure;
    assert_false(receive_fds(pair.b.get(), &got, &message, &failure));
    assert_true(got.empty());
    assert_int_equal(failure.error_number, 0);  // not an error a caller waits out
}

void nothing_yet_is_eagain(void**) {
    Pair pair;
    fcntl(pair.b.get(), F_SETFL, O_NONBLOCK | O_RDWR);
    std::vector<UniqueFd> got;
    std::string message;
    Failure failure;
    assert_false(receive_fds(pair.b.get(), &got, &message, &failure));
    assert_int_equal(failure.error_number, EAGAIN);
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(several_descriptors_arrive_in_order),
        cmocka_unit_test(a_message_alone_carries_no_descriptor),
        cmocka_unit_test(a_single_receive_keeps_the_first),
        cmocka_unit_test(too_many_descriptors_are_refused),
        cmocka_unit_test(end_of_stream_is_not_a_message),
        cmocka_unit_test(nothing_yet_is_eagain),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
