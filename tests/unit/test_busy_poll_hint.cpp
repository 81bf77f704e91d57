// SPDX-License-Identifier: GPL-2.0-or-later
// test_busy_poll_hint.cpp: the one place the busy-poll decision is made
// (busy_poll_hint.hpp). What a cycle reports counts for the wait after the
// next cycle begins, and lapses a cycle later; small pieces are
// request/response, large ones bulk, and a bare ACK from the kernel TCP
// path never counts.
#include <cstddef>
#include <cstdint>

#include "busy_poll_hint.hpp"

#include "cmocka.hpp"

namespace {

constexpr size_t kSmall = 64;
constexpr size_t kLarge = BusyPollHint::kLargestPromptMessage + 1;

// What the loop would decide at the next wait.
bool spins_next(BusyPollHint& hint) {
    hint.cycle_begins();
    return hint.expects_prompt_events();
}

void nothing_reported_never_spins(void**) {
    BusyPollHint hint;
    assert_false(spins_next(hint));
}

void small_guest_frames_spin_bulk_does_not(void**) {
    BusyPollHint hint;
    hint.guest_batch_begins();
    hint.guest_frame(kSmall);
    assert_true(spins_next(hint));
    assert_false(spins_next(hint));  // lapsed: nothing came since
    hint.guest_batch_begins();
    hint.guest_frame(kSmall);
    hint.guest_frame(kLarge);
    assert_false(spins_next(hint));
    // libslirp's socket events count only while the guest's last batch was small.
    hint.slirp_socket_event();
    assert_false(spins_next(hint));
    hint.guest_batch_begins();
    hint.slirp_socket_event();
    assert_true(spins_next(hint));
}

void relayed_and_kernel_frames_count_when_small(void**) {
    BusyPollHint hint;
    hint.relayed(0);
    assert_false(spins_next(hint));
    hint.relayed(kSmall);
    assert_true(spins_next(hint));
    hint.relayed(kLarge);
    assert_false(spins_next(hint));
    hint.kernel_frame_to_guest(kSmall, false);  // a bare ACK
    assert_false(spins_next(hint));
    hint.kernel_frame_to_guest(kSmall, true);
    assert_true(spins_next(hint));
    hint.kernel_frame_to_guest(kLarge, true);
    assert_false(spins_next(hint));
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(nothing_reported_never_spins),
        cmocka_unit_test(small_guest_frames_spin_bulk_does_not),
        cmocka_unit_test(relayed_and_kernel_frames_count_when_small),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
