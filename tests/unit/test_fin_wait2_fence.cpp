// SPDX-License-Identifier: GPL-2.0-or-later
// test_fin_wait2_fence.cpp: which host sockets in FIN_WAIT2 get ended
// (fin_wait2_fence.hpp): only after the limit in that state without a gap
// and without data; a reused fd starts afresh; and sweep() on real sockets.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "fin_wait2_fence.hpp"

#include "cmocka.hpp"

namespace {

using Obs = FinWait2Fence::Observation;
constexpr int64_t kLimit = FinWait2Fence::kLimitMs;

void ends_only_after_the_limit(void**) {
    FinWait2Fence f;
    std::vector<Obs> now = {{7, 100, 0}};
    assert_true(f.expired(now, 1000).empty());
    now[0].since_data_ms = kLimit - 1;
    assert_true(f.expired(now, 1000 + kLimit - 1).empty());
    now[0].since_data_ms = kLimit;
    std::vector<int> ended = f.expired(now, 1000 + kLimit);
    assert_int_equal(ended.size(), 1);
    assert_int_equal(ended[0], 7);
    assert_int_equal(f.watched(), 0);
}

// Data from the peer during the wait means it is alive: not yet.
void recent_data_keeps_it(void**) {
    FinWait2Fence f;
    std::vector<Obs> now = {{7, 100, 0}};
    f.expired(now, 0);
    now[0].since_data_ms = 5000;
    assert_true(f.expired(now, kLimit * 2).empty());
    assert_int_equal(f.watched(), 1);
}

// A socket that left FIN_WAIT2 (or closed) is forgotten; seen again, its
// wait starts over. So does another connection on the same fd number.
void gaps_and_reuse_start_over(void**) {
    FinWait2Fence f;
    f.expired(std::vector<Obs>{{7, 100, 0}}, 0);
    f.expired(std::vector<Obs>{}, 10);
    assert_true(f.expired(std::vector<Obs>{{7, 100, kLimit}}, kLimit).empty());
    assert_true(f.expired(std::vector<Obs>{{7, 101, kLimit * 3}}, kLimit * 3).empty());
    assert_int_equal(f.expired(std::vector<Obs>{{7, 101, kLimit * 4}}, kLimit * 4).size(), 1);
}

void several_at_once(void**) {
    FinWait2Fence f;
    f.expired(std::vector<Obs>{{3, 1, 0}, {4, 2, 0}}, 0);
    std::vector<int> ended =
        f.expired(std::vector<Obs>{{3, 1, kLimit}, {4, 2, 10}, {5, 3, kLimit}}, kLimit);
    assert_int_equal(ended.size(), 1);
    assert_int_equal(ended[0], 3);
    assert_int_equal(f.watched(), 2);
}

// sweep() leaves alone what is not a TCP socket in FIN_WAIT2: a pipe, a
// UDP socket, a fresh TCP socket, an fd that is not open.
void sweep_ignores_other_descriptors(void**) {
    int p[2];
    assert_int_equal(pipe(p), 0);
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(udp >= 0 && tcp >= 0);
    std::vector<int> fds = {p[0], p[1], udp, tcp, 1000};
    FinWait2Fence f;
    assert_int_equal(f.sweep(fds, 0), 0);
    assert_int_equal(f.sweep(fds, kLimit * 10), 0);
    assert_int_equal(f.watched(), 0);
    close(p[0]);
    close(p[1]);
    close(udp);
    close(tcp);
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(ends_only_after_the_limit),       cmocka_unit_test(recent_data_keeps_it),
        cmocka_unit_test(gaps_and_reuse_start_over),       cmocka_unit_test(several_at_once),
        cmocka_unit_test(sweep_ignores_other_descriptors),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
