// SPDX-License-Identifier: GPL-2.0-or-later
// test_event_loop.cpp: the loop's two ways of waiting. With no cycle source
// descriptors it waits in epoll_wait() alone and dispatches the events that
// wait fetched; with some, poll() covers both sets. Either way every ready
// watch runs once per cycle, and a watch removed by an earlier handler of
// the same cycle does not run.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "unique_fd.hpp"

#include "cmocka.hpp"

namespace {

struct Pipe {
    UniqueFd r, w;
    Pipe() {
        int fds[2];
        assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
        r.reset(fds[0]);
        w.reset(fds[1]);
    }
    void put() { assert_int_equal(write(w.get(), "x", 1), 1); }
    void take() {
        char c;
        (void)!read(r.get(), &c, 1);
    }
};

void watch(EventLoop& loop, int fd, EventLoop::IoHandler handler) {
    assert_true(loop.watch(fd, POLLIN, std::move(handler), nullptr));
}

// Lists one descriptor every cycle, as libslirp's sockets are listed.
class OneFdSource : public EventLoop::CycleSource {
   public:
    explicit OneFdSource(int fd) : fd_(fd) {}
    int fill(std::vector<pollfd>& fds) override {
        fds.push_back({fd_, POLLIN, 0});
        return -1;
    }
    void dispatch(const std::vector<pollfd>& fds, bool) override {
        if (fds.back().revents & POLLIN) ready++;
    }
    int ready = 0;

   private:
    int fd_;
};

void epoll_alone_dispatches_what_its_wait_fetched(void**) {
    EventLoop loop;
    Pipe a, b;
    int ran_a = 0, ran_b = 0;
    watch(loop, a.r.get(), [&](short) {
        ran_a++;
        a.take();
    });
    watch(loop, b.r.get(), [&](short) {
        ran_b++;
        b.take();
    });
    loop.run_once();
    assert_int_equal(ran_a + ran_b, 0);
    a.put();
    b.put();
    loop.run_once();
    assert_int_equal(ran_a, 1);
    assert_int_equal(ran_b, 1);
    loop.run_once();  // nothing is ready any more
    assert_int_equal(ran_a, 1);
    assert_int_equal(ran_b, 1);
}

void a_blocking_wait_wakes_for_a_watch(void**) {
    EventLoop loop;
    Pipe a;
    int ran = 0;
    watch(loop, a.r.get(), [&](short) {
        ran++;
        a.take();
        loop.stop(0);
    });
    // The timer only makes the pipe ready; the watch's event must wake the
    // loop's (blocking) wait and stop it.
    loop.add_timer(loop.clock_ms() + 10, [&] { a.put(); });
    int64_t guard = loop.clock_ms() + 5000;
    loop.add_timer(guard, [&] { loop.stop(1); });
    assert_int_equal(loop.run(), 0);
    assert_int_equal(ran, 1);
}

void a_watch_removed_earlier_in_the_cycle_does_not_run(void**) {
    for (bool with_source : {false, true}) {
        EventLoop loop;
        Pipe a, b, s;
        OneFdSource source(s.r.get());
        if (with_source) loop.set_cycle_source(&source);
        int ran = 0;
        // Whichever runs first unwatches the other.
        watch(loop, a.r.get(), [&](short) {
            ran++;
            loop.unwatch(b.r.get());
        });
        watch(loop, b.r.get(), [&](short) {
            ran++;
            loop.unwatch(a.r.get());
        });
        a.put();
        b.put();
        s.put();
        loop.run_once();
        assert_int_equal(ran, 1);
        assert_int_equal(source.ready, with_source ? 1 : 0);
    }
}

// A watch epoll refuses is reported, and leaves no watch behind, not even
// the one it replaced: that one would never fire again.
void a_refused_watch_says_why(void**) {
    EventLoop loop;
    Pipe a;
    int ran = 0;
    watch(loop, a.r.get(), [&](short) { ran++; });
    int closed = a.r.get();
    a.r.reset();
    std::string err;
    assert_false(loop.watch(
        closed, POLLIN, [&](short) { ran += 10; }, &err));
    assert_non_null(std::strstr(err.c_str(), "epoll_ctl"));
    err.clear();
    assert_false(loop.watch(
        -1, POLLIN, [&](short) {}, &err));
    assert_false(err.empty());
    Pipe b;  // most likely under the closed descriptor's number
    watch(loop, b.r.get(), [&](short) {
        ran++;
        b.take();
    });
    b.put();
    loop.run_once();
    assert_int_equal(ran, 1);
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(epoll_alone_dispatches_what_its_wait_fetched),
        cmocka_unit_test(a_blocking_wait_wakes_for_a_watch),
        cmocka_unit_test(a_watch_removed_earlier_in_the_cycle_does_not_run),
        cmocka_unit_test(a_refused_watch_says_why),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
