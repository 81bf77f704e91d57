// SPDX-License-Identifier: GPL-2.0-or-later
// frame_ring.hpp owns reading the guest's frames that tc redirects to the
// UDP veth (tc_redirect.hpp) out of a packet socket's receive ring.
//
// Theory of operation. A tap gives one frame per read(): for a stream of
// small datagrams that is one system call per datagram before the daemon
// has done anything with it. A packet socket with a TPACKET_V2 receive ring
// has the kernel copy each frame into a slot of memory the daemon has
// mapped, and mark the slot the daemon's; the daemon takes every slot so
// marked in one wakeup, hands each frame on, and gives the slots back by
// marking them the kernel's: no system call per frame at all. The socket is
// made (open_socket) in the private namespace, where the veth's peer is,
// and passed to the daemon, which gives it a ring and maps it (map) only
// while the guest sends UDP in earnest, and frees it again (unmap) once
// the guest has been quiet a while: the ring's memory counts in the RSS
// from the moment it is mapped. The socket has
// virtio-net headers, as the guest's tap has: a frame whose checksum the
// guest's kernel left partial says so in the same way. A slot holds any
// frame the filters send (an IP packet under 2 KiB); a frame that came
// truncated all the same is dropped and counted. 928 slots, 2 MiB. When the daemon
// falls behind and every slot is taken, the kernel drops the frame and
// counts it, as a full tap queue does.
//
// A ring wakes the daemon for every frame it fills, and a guest streaming
// large datagrams at a rate the daemon keeps up with would have it woken,
// and send, once per datagram. Once a stream is seen (kStreamFrames frames
// larger than a prompt message within one millisecond of the loop's
// clock), the ring lingers: it stops watching the socket and looks again a
// short while later (a timerfd, kLingerUs), so that the frames that came
// meanwhile go in one wakeup, gathered into runs (KernelUdpPath). When a
// look finds fewer than kLingerFrames such frames the stream has ended or
// slowed, and the socket is watched again. Small datagrams (requests,
// answers, games' and calls' packets) never start it, and a stream's
// large datagrams wait at most that short while.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "event_loop.hpp"
#include "unique_fd.hpp"
#include "vnet.hpp"

class FrameRing {
   public:
    // In the private namespace: a packet socket on the interface `name`,
    // for frames of every protocol, with virtio-net headers.
    static bool open_socket(const std::string& name, UniqueFd* out, std::string* err);

    // Each frame as the guest sent it, and the virtio-net header the kernel
    // wrote for it; `done` after each wakeup's frames.
    using Handler = std::function<void(uint8_t* frame, size_t len, const VnetHeader& vnet)>;
    FrameRing(EventLoop& loop, UniqueFd socket, Handler handler, std::function<void()> done);
    ~FrameRing();
    FrameRing(const FrameRing&) = delete;
    FrameRing& operator=(const FrameRing&) = delete;

    // Gives the socket a ring, maps it and watches the socket.
    bool map(std::string* err);
    // Hands on what the ring still holds, then unmaps and frees it; the
    // socket stays, for the next map.
    void unmap();
    bool mapped() const { return ring_ != nullptr; }

    // Where the frames lie: they stay as they are until done returns.
    const uint8_t* begin() const { return ring_; }
    const uint8_t* end() const;
    uint64_t frames() const { return frames_; }
    // The frames the kernel dropped for want of a slot, and those that came
    // truncated, so far.
    uint64_t drops();
    // How often a stream of large datagrams had the ring linger.
    uint64_t lingers() const { return lingers_; }

   private:
    int on_ready();  // how many frames it handed on
    void after_batch(int large);
    void on_linger_done();
    void abandon_map();
    void free_ring();

    EventLoop& loop_;
    Handler handler_;
    std::function<void()> done_;
    UniqueFd socket_;
    uint8_t* ring_ = nullptr;
    size_t next_ = 0;  // the slot to look at first
    uint64_t frames_ = 0;
    uint64_t drops_ = 0;
    UniqueFd linger_timer_;  // a timerfd
    bool lingering_ = false;
    uint64_t lingers_ = 0;
    int64_t tick_ms_ = -1;  // the loop's millisecond whose large frames are counted
    int large_in_tick_ = 0;
};
