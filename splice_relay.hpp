// SPDX-License-Identifier: GPL-2.0-or-later
// splice_relay.hpp owns the TCP relay: two connected stream sockets joined
// so that their bytes move kernel to kernel with splice(2), socket -> pipe
// -> socket, never copied through this process, except requests and
// answers of a few bytes, for which one small copy costs less than two
// splices. A FIN is passed on as a half-close, an error or a reset as a
// reset of the other side; a direction reads only while its pipe is empty,
// so a slow reader stops its writer's reads (backpressure); pipes come from
// a small pool and are held only while bytes are in flight. Port forwards
// (splice_forward.hpp) and the kernel TCP path (kernel_tcp.hpp) hand it the
// pairs they have connected. Everything runs in the daemon's single
// EventLoop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "event_loop.hpp"
#include "unique_fd.hpp"

// Closing fd afterwards sends a reset (a zero linger), not a FIN: how a
// reset or a refusal is passed on.
void set_reset_on_close(int fd);

class SpliceRelay {
   public:
    // Raises the descriptor limit: every joined pair costs two sockets, and
    // pipes while bytes are in flight.
    explicit SpliceRelay(EventLoop& loop);
    ~SpliceRelay();
    SpliceRelay(const SpliceRelay&) = delete;
    SpliceRelay& operator=(const SpliceRelay&) = delete;

    // Relays two connected TCP sockets until both directions have ended;
    // the "host" side is the one the daemon connected from (or accepted on)
    // the host, the "guest" side the one facing the guest. Returns the
    // connection's id; should the loop refuse to watch either socket, both
    // are reset and the id is closed at once.
    uint64_t join(UniqueFd host, UniqueFd guest);
    bool is_open(uint64_t id) const { return conns_.count(id) > 0; }
    // Relays what the guest side of a joined connection holds now, as if
    // the loop had reported it readable: the kernel TCP path, having just
    // written a small request into the private kernel (which queued it on
    // the socket within that write), saves the loop cycle that would only
    // report it. When that sent bytes, the host side is tried in the same
    // turn: a host peer on this CPU has usually answered within our splice.
    // Nothing happens while the connection waits for its host side to
    // drain (backpressure), as with the loop's own events.
    void relay_from_guest_now(uint64_t id);
    // Called after an event moved a few bytes (request/response traffic,
    // up to BusyPollHint::kLargestPromptMessage) into a guest side: its
    // kernel has sent them on within the splice, and the kernel TCP path
    // passes them to the guest at once rather than a loop cycle later.
    void on_small_move_to_guest(std::function<void()> handler) {
        small_move_to_guest_ = std::move(handler);
    }

    // Called once a joined connection has ended and given back its sockets.
    void on_closed(std::function<void(uint64_t id)> handler) { closed_ = std::move(handler); }

    size_t connections() const { return conns_.size(); }
    // Bytes moved, host -> guest and guest -> host.
    uint64_t bytes_to_guest() const { return bytes_to_guest_; }
    uint64_t bytes_from_guest() const { return bytes_from_guest_; }
    // Of those, the bytes moved by recv() and send() rather than by splice.
    uint64_t bytes_copied() const { return bytes_copied_; }

   private:
    struct Pipe {
        UniqueFd r, w;
        size_t size = 0;
    };
    struct Direction {
        Pipe pipe;           // held only while bytes are in flight
        size_t pending = 0;  // bytes in the pipe
        bool eof = false;    // the source sent FIN
        bool shut = false;   // FIN passed on (shutdown(SHUT_WR) on the destination)
        // The last wakeup moved a message small enough to copy: the next
        // is read with recv() and sent with send(), cheaper than two
        // splices for a few bytes. Bulk streams splice.
        bool copying = true;
    };
    struct Conn {
        UniqueFd host, guest;
        Direction up, down;  // host -> guest, guest -> host
        bool host_watched = true, guest_watched = true;
        bool host_hung_up = false, guest_hung_up = false;   // POLLHUP seen
        short host_events = POLLIN, guest_events = POLLIN;  // as last given to the loop
    };
    enum class Pump { Ok, FromFailed, ToFailed };
    enum class Copy { Done, More, FromFailed, ToFailed };

    void conn_event(uint64_t id, bool on_host, short revents);
    Copy copy_small(int from, int to, Direction& d, uint64_t& moved);
    void handle_conn_event(uint64_t id, bool on_host, short revents);
    Pump pump(int from, int to, Direction& d, uint64_t& moved);
    void update_watches(uint64_t id, Conn& c);
    void close_conn(uint64_t id, int reset_fd);
    void reset_conn(uint64_t id);
    static bool make_pipe(Pipe* p);
    void keep_spare_pipe();
    bool acquire_pipe(Direction& d);
    void release_pipe(Direction& d);

    EventLoop& loop_;
    uint64_t next_id_ = 1;
    std::map<uint64_t, std::unique_ptr<Conn>> conns_;
    std::vector<Pipe> spare_pipes_;
    uint64_t bytes_to_guest_ = 0, bytes_from_guest_ = 0, bytes_copied_ = 0;
    std::function<void()> small_move_to_guest_;
    std::function<void(uint64_t)> closed_;
};
