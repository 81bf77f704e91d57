// SPDX-License-Identifier: GPL-2.0-or-later
// splice_relay.cpp: the TCP relay (see splice_relay.hpp).
#include "splice_relay.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace {

// Bigger pipes mean fewer splice() calls per megabyte; the kernel may refuse
// (pipe-user-pages-soft), and then the default size is used.
constexpr int kWantedPipeSize = 1 << 20;
// How often one wakeup may move a pipe's worth of data in each direction
// before other connections get their turn.
constexpr int kPumpRounds = 8;
constexpr size_t kSparePipes = 8;
constexpr unsigned kSpliceFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
// Requests and answers up to this size go by recv() and send(): one copy
// of a few bytes costs less than splicing them into a pipe and out again.
constexpr size_t kCopyLimit = 2048;

void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Every relayed connection costs two sockets (plus pipes in flight): the
// default soft limit of 1024 would cap us near 500 connections.
void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur >= lim.rlim_max) return;
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
}

}  // namespace

void set_reset_on_close(int fd) {
    linger l{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

SpliceRelay::SpliceRelay(EventLoop& loop) : loop_(loop) {
    raise_fd_limit();
    keep_spare_pipe();
}

SpliceRelay::~SpliceRelay() {
    for (auto& [id, c] : conns_) {
        loop_.unwatch(c->host.get());
        loop_.unwatch(c->guest.get());
    }
}

// Made before any connection: at the descriptor limit a pipe could not be
// made when bytes arrive, and the connection would be reset. With one in
// the pool, connections there still move their bytes, one pipe at a time.
void SpliceRelay::keep_spare_pipe() {
    Pipe p;
    if (make_pipe(&p)) spare_pipes_.push_back(std::move(p));
}

uint64_t SpliceRelay::join(UniqueFd host, UniqueFd guest) {
    auto conn = std::make_unique<Conn>();
    conn->host = std::move(host);
    conn->guest = std::move(guest);
    set_nodelay(conn->host.get());
    set_nodelay(conn->guest.get());
    uint64_t id = next_id_++;
    int host_fd = conn->host.get(), guest_fd = conn->guest.get();
    conns_.emplace(id, std::move(conn));
    auto on = [this, id](bool on_host) {
        return [this, id, on_host](short revents) { conn_event(id, on_host, revents); };
    };
    if (!loop_.watch(host_fd, POLLIN, on(true), nullptr) ||
        !loop_.watch(guest_fd, POLLIN, on(false), nullptr))
        reset_conn(id);
    return id;
}

bool SpliceRelay::make_pipe(Pipe* p) {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return false;
    p->r.reset(fds[0]);
    p->w.reset(fds[1]);
    // Over the per-user pipe budget the kernel refuses; the default size works.
    fcntl(fds[1], F_SETPIPE_SZ, kWantedPipeSize);
    int size = fcntl(fds[1], F_GETPIPE_SZ);
    p->size = size > 0 ? static_cast<size_t>(size) : 4096;
    return true;
}

bool SpliceRelay::acquire_pipe(Direction& d) {
    if (d.pipe.r) return true;
    if (!spare_pipes_.empty()) {
        d.pipe = std::move(spare_pipes_.back());
        spare_pipes_.pop_back();
        return true;
    }
    return make_pipe(&d.pipe);
}

void SpliceRelay::release_pipe(Direction& d) {
    if (!d.pipe.r || d.pending != 0) return;
    if (spare_pipes_.size() < kSparePipes) spare_pipes_.push_back(std::move(d.pipe));
    d.pipe = Pipe{};
}

// With an empty pipe (nothing may overtake what is in it): a read of up to
// kCopyLimit bytes, sent at once. What the destination does not take goes
// into the pipe, which is empty and far larger. More: the read filled the
// buffer, so the rest goes by splice.
SpliceRelay::Copy SpliceRelay::copy_small(int from, int to, Direction& d, uint64_t& moved) {
    char buf[kCopyLimit];
    ssize_t n = recv(from, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) {
        d.eof = true;
        return Copy::Done;
    }
    if (n < 0) return errno == EAGAIN || errno == EINTR ? Copy::Done : Copy::FromFailed;
    size_t got = static_cast<size_t>(n);
    ssize_t sent = send(to, buf, got, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN && errno != EINTR) return Copy::ToFailed;
    size_t done = sent > 0 ? static_cast<size_t>(sent) : 0;
    moved += done;
    bytes_copied_ += done;
    if (done < got) {
        // Without a pipe the rest is lost: the destination is reset, as
        // when no pipe is had for a splice.
        if (!acquire_pipe(d)) return Copy::FromFailed;
        ssize_t w = write(d.pipe.w.get(), buf + done, got - done);
        if (w != static_cast<ssize_t>(got - done)) return Copy::FromFailed;
        d.pending = got - done;
    }
    return got == sizeof buf ? Copy::More : Copy::Done;
}

SpliceRelay::Pump SpliceRelay::pump(int from, int to, Direction& d, uint64_t& moved) {
    uint64_t moved_before = moved;
    bool copied_all = false;
    if (d.copying && !d.eof && d.pending == 0) {
        switch (copy_small(from, to, d, moved)) {
            case Copy::Done:
                copied_all = true;
                break;
            case Copy::More:
                break;
            case Copy::FromFailed:
                return Pump::FromFailed;
            case Copy::ToFailed:
                return Pump::ToFailed;
        }
    }
    for (int round = 0; !copied_all && round < kPumpRounds; round++) {
        bool progress = false, drained = false;
        if (!d.eof && (!d.pipe.r || d.pending < d.pipe.size)) {
            if (!acquire_pipe(d)) return Pump::FromFailed;
            size_t room = d.pipe.size - d.pending;
            ssize_t n = splice(from, nullptr, d.pipe.w.get(), nullptr, room, kSpliceFlags);
            if (n > 0) {
                d.pending += static_cast<size_t>(n);
                progress = true;
                // Less than there was room for: the socket is empty for now
                // (a request, or the tail of a burst). Asking again would
                // only return EAGAIN; its next data brings a new event.
                drained = static_cast<size_t>(n) < room;
            } else if (n == 0) {
                d.eof = true;
            } else if (errno != EAGAIN && errno != EINTR) {
                return Pump::FromFailed;
            }
        }
        if (d.pending > 0) {
            ssize_t n = splice(d.pipe.r.get(), nullptr, to, nullptr, d.pending, kSpliceFlags);
            if (n > 0) {
                d.pending -= static_cast<size_t>(n);
                moved += static_cast<uint64_t>(n);
                progress = true;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                return Pump::ToFailed;
            }
        }
        if (!progress || (drained && d.pending == 0)) break;
    }
    uint64_t moved_now = moved - moved_before;
    if (moved_now > 0) d.copying = moved_now <= kCopyLimit;
    release_pipe(d);
    if (d.eof && d.pending == 0 && !d.shut) {
        shutdown(to, SHUT_WR);
        d.shut = true;
    }
    return Pump::Ok;
}

void SpliceRelay::relay_from_guest_now(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    const Conn& c = *it->second;
    if (!c.guest_watched || !(c.guest_events & POLLIN)) return;
    uint64_t sent = bytes_from_guest_;
    conn_event(id, false, POLLIN);
    // A host peer on this CPU has often answered within our splice (it ran
    // as soon as it was woken): its answer goes on in the same turn.
    it = conns_.find(id);
    if (it == conns_.end() || bytes_from_guest_ == sent) return;
    const Conn& after = *it->second;
    if (after.host_watched && (after.host_events & POLLIN)) conn_event(id, true, POLLIN);
}

void SpliceRelay::conn_event(uint64_t id, bool on_host, short revents) {
    uint64_t before = bytes_to_guest_;
    handle_conn_event(id, on_host, revents);
    uint64_t moved = bytes_to_guest_ - before;
    if (moved > 0 && moved <= BusyPollHint::kLargestPromptMessage && small_move_to_guest_)
        small_move_to_guest_();
}

void SpliceRelay::handle_conn_event(uint64_t id, bool on_host, short revents) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    int host = c.host.get(), guest = c.guest.get();
    // Only the directions this event can move: host -> guest reads the host
    // socket and writes the guest's, guest -> host the other way round. An
    // error or hang-up may end either.
    bool either = revents & (POLLERR | POLLHUP);
    bool readable = revents & POLLIN, writable = revents & POLLOUT;
    bool pump_up = either || (on_host ? readable : writable);
    bool pump_down = either || (on_host ? writable : readable);
    uint64_t moved_before = bytes_to_guest_ + bytes_from_guest_;
    Pump up = pump_up ? pump(host, guest, c.up, bytes_to_guest_) : Pump::Ok;
    if (up != Pump::Ok) {
        close_conn(id, up == Pump::FromFailed ? guest : host);
        return;
    }
    Pump down = pump_down ? pump(guest, host, c.down, bytes_from_guest_) : Pump::Ok;
    if (down != Pump::Ok) {
        close_conn(id, down == Pump::FromFailed ? host : guest);
        return;
    }
    uint64_t moved = bytes_to_guest_ + bytes_from_guest_ - moved_before;
    loop_.busy_poll_hint().relayed(moved);
    if (c.up.shut && c.down.shut) {
        close_conn(id, -1);
        return;
    }
    // An error, or a hang-up before our FIN went in, on a socket we still
    // need: it can no longer carry the rest of the stream, so the other side
    // is told with a reset. A hang-up after our FIN only means its peer has
    // closed too: what it still holds is read out (one pump round moves at
    // most a few pipes' worth) before its EOF.
    bool needed = on_host ? !(c.up.eof && c.down.shut) : !(c.down.eof && c.up.shut);
    bool fin_sent = on_host ? c.down.shut : c.up.shut;
    if (needed && ((revents & POLLERR) || ((revents & POLLHUP) && !fin_sent))) {
        close_conn(id, on_host ? guest : host);
        return;
    }
    if (revents & POLLHUP) (on_host ? c.host_hung_up : c.guest_hung_up) = true;
    update_watches(id, c);
}

void SpliceRelay::update_watches(uint64_t id, Conn& c) {
    // A direction reads only with an empty pipe and writes only with a full
    // one: that is the backpressure (a slow reader stops its writer's reads).
    auto events = [](const Direction& reading, const Direction& writing) {
        short ev = 0;
        if (!reading.eof && reading.pending == 0) ev |= POLLIN;
        if (writing.pending > 0) ev |= POLLOUT;
        return ev;
    };
    // A socket that has delivered its FIN and been sent ours has nothing left
    // to report. A hung-up one reports POLLHUP whatever it is asked for, so
    // while it waits for its pipe to drain it is not watched at all (the
    // other socket's events bring it back); either would only spin.
    auto place = [&](bool on_host, bool needed, short ev) {
        int fd = on_host ? c.host.get() : c.guest.get();
        bool& watched = on_host ? c.host_watched : c.guest_watched;
        short& last = on_host ? c.host_events : c.guest_events;
        bool hung_up = on_host ? c.host_hung_up : c.guest_hung_up;
        if (!needed || (hung_up && ev == 0)) {
            if (watched) loop_.unwatch(fd);
            watched = false;
            return true;
        }
        if (!watched) {
            auto handler = [this, id, on_host](short revents) { conn_event(id, on_host, revents); };
            if (!loop_.watch(fd, ev, handler, nullptr)) return false;
            watched = true;
        } else if (ev != last) {
            // set_events() is a system call (epoll_ctl): skipped when nothing changed.
            loop_.set_events(fd, ev);
        }
        last = ev;
        return true;
    };
    // A side the loop can no longer watch would stall the stream for good.
    if (!place(true, !(c.up.eof && c.down.shut), events(c.up, c.down)) ||
        !place(false, !(c.down.eof && c.up.shut), events(c.down, c.up)))
        reset_conn(id);
}

void SpliceRelay::reset_conn(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    set_reset_on_close(it->second->guest.get());
    close_conn(id, it->second->host.get());
}

void SpliceRelay::close_conn(uint64_t id, int reset_fd) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    loop_.unwatch(c.host.get());
    loop_.unwatch(c.guest.get());
    if (reset_fd >= 0) set_reset_on_close(reset_fd);
    conns_.erase(it);
    if (closed_) closed_(id);
}
