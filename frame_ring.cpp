// SPDX-License-Identifier: GPL-2.0-or-later
// frame_ring.cpp: the UDP veth's receive ring (see frame_ring.hpp).
#include "frame_ring.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "error.hpp"

namespace {

// A slot holds the largest frame the filters send (an IP packet under 2 KiB,
// or an IPv6 one whose payload is, 40 bytes more, and its Ethernet header:
// 2101 bytes) behind what the kernel puts in front of it (its header, the
// source address, alignment, the virtio-net header: 76 bytes). Slots do
// not straddle the kernel's blocks: 29 fit one of 64 KiB, 928 in 2 MiB
// (about what a tap's queue of 1000 frames holds), all of it mapped (and
// counted in the RSS) from the start.
constexpr size_t kSlotSize = 2048 + 192;
constexpr size_t kBlockSize = 64 * 1024;
constexpr size_t kBlocks = 32;
constexpr size_t kSlotsPerBlock = kBlockSize / kSlotSize;
constexpr size_t kSlots = kBlocks * kSlotsPerBlock;
constexpr size_t kRingSize = kBlocks * kBlockSize;
// Frames handed on per wakeup at most, so that the loop's other
// descriptors get a turn; the rest wait for the next.
constexpr int kFramesPerWakeup = 256;
// Lingering (frame_ring.hpp): a stream is this many large frames in one
// millisecond (about 90 Mbit/s of 1400-byte datagrams), the ring looks
// again this long after a wakeup, and a look that finds fewer large frames
// than kLingerFrames ends it. The timer's slack may add as much again.
constexpr int kStreamFrames = 8;
constexpr long kLingerUs = 50;
constexpr int kLingerFrames = 2;

tpacket2_hdr* slot(uint8_t* ring, size_t i) {
    return reinterpret_cast<tpacket2_hdr*>(ring + i / kSlotsPerBlock * kBlockSize +
                                           i % kSlotsPerBlock * kSlotSize);
}

uint32_t status_of(tpacket2_hdr* h) {
    return std::atomic_ref<uint32_t>(h->tp_status).load(std::memory_order_acquire);
}

}  // namespace

bool FrameRing::open_socket(const std::string& name, UniqueFd* out, std::string* err) {
    // Protocol 0: nothing arrives before bind names the interface.
    UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (!fd) return fail(err, errno_text("cannot open a packet socket"));
    int version = TPACKET_V2, one = 1;
    if (setsockopt(fd.get(), SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0 ||
        setsockopt(fd.get(), SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0)
        return fail(err, errno_text("cannot set up the packet socket"));
    sockaddr_ll a{};
    a.sll_family = AF_PACKET;
    a.sll_protocol = htons(ETH_P_ALL);
    a.sll_ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    if (a.sll_ifindex <= 0 || bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) < 0)
        return fail(err, errno_text("cannot bind a packet socket to " + name));
    *out = std::move(fd);
    return true;
}

FrameRing::FrameRing(EventLoop& loop, UniqueFd socket, Handler handler, std::function<void()> done)
    : loop_(loop),
      handler_(std::move(handler)),
      done_(std::move(done)),
      socket_(std::move(socket)),
      // Made with the ring's socket, so that mapping the ring costs no
      // descriptor; without one, the ring never lingers.
      linger_timer_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {}

FrameRing::~FrameRing() {
    if (!ring_) return;
    loop_.unwatch(socket_.get());
    if (linger_timer_) loop_.unwatch(linger_timer_.get());
    munmap(ring_, kRingSize);
}

bool FrameRing::map(std::string* err) {
    if (ring_) return true;
    tpacket_req req{};
    req.tp_block_size = kBlockSize;
    req.tp_block_nr = kBlocks;
    req.tp_frame_size = kSlotSize;
    req.tp_frame_nr = kSlots;
    if (setsockopt(socket_.get(), SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0)
        return fail(err, errno_text("cannot give the packet socket a ring"));
    void* ring = mmap(nullptr, kRingSize, PROT_READ | PROT_WRITE, MAP_SHARED, socket_.get(), 0);
    if (ring == MAP_FAILED) {
        std::string why = errno_text("cannot map the packet socket's ring");
        free_ring();
        return fail(err, why);
    }
    ring_ = static_cast<uint8_t*>(ring);
    next_ = 0;
    if (!loop_.watch(
            socket_.get(), POLLIN, [this](short) { on_ready(); }, err) ||
        (linger_timer_ &&
         !loop_.watch(
             linger_timer_.get(), POLLIN, [this](short) { on_linger_done(); }, err))) {
        abandon_map();
        return false;
    }
    return true;
}

// What map made, undone when a later step of it failed.
void FrameRing::abandon_map() {
    loop_.unwatch(socket_.get());
    if (linger_timer_) loop_.unwatch(linger_timer_.get());
    munmap(ring_, kRingSize);
    ring_ = nullptr;
    free_ring();
}

void FrameRing::unmap() {
    if (!ring_) return;
    while (on_ready() == kFramesPerWakeup) {
    }
    loop_.unwatch(socket_.get());
    if (linger_timer_) {
        // An expiry armed by the last look is of no use to the next map.
        itimerspec never{};
        timerfd_settime(linger_timer_.get(), 0, &never, nullptr);
        loop_.unwatch(linger_timer_.get());
    }
    lingering_ = false;
    drops();  // the kernel's count goes with the ring
    munmap(ring_, kRingSize);
    ring_ = nullptr;
    free_ring();
}

// A ring of no blocks frees the kernel's; frames that come meanwhile (none
// should: the filters went first) wait in the socket's queue, bounded by
// its buffer, and are dropped with it.
void FrameRing::free_ring() {
    tpacket_req none{};
    setsockopt(socket_.get(), SOL_PACKET, PACKET_RX_RING, &none, sizeof none);
}

[[gnu::hot]] int FrameRing::on_ready() {
    // A batch from the guest, as a tap read's: what it holds decides
    // whether the loop spins for an answer (busy_poll_hint.hpp).
    loop_.busy_poll_hint().guest_batch_begins();
    size_t first = next_;
    int handed = 0, large = 0;
    for (; handed < kFramesPerWakeup; handed++) {
        tpacket2_hdr* h = slot(ring_, next_);
        if (!(status_of(h) & TP_STATUS_USER)) break;
        // The kernel keeps a frame whole below the slot's size; it writes
        // the virtio-net header just in front of the frame.
        if (h->tp_snaplen == h->tp_len && h->tp_mac >= sizeof(tpacket2_hdr) + sizeof(VnetHeader) &&
            h->tp_mac + h->tp_snaplen <= kSlotSize) {
            uint8_t* frame = reinterpret_cast<uint8_t*>(h) + h->tp_mac;
            VnetHeader vnet;
            std::memcpy(&vnet, frame - sizeof vnet, sizeof vnet);
            frames_++;
            if (h->tp_snaplen > BusyPollHint::kLargestPromptMessage) large++;
            handler_(frame, h->tp_snaplen, vnet);
        } else {
            drops_++;
        }
        next_ = (next_ + 1) % kSlots;
    }
    if (handed > 0) {
        // What the handler kept of the frames (sends it gathered) is done
        // with only now: the slots go back after.
        if (done_) done_();
        for (int i = 0; i < handed; i++)
            std::atomic_ref<uint32_t>(slot(ring_, (first + i) % kSlots)->tp_status)
                .store(TP_STATUS_KERNEL, std::memory_order_release);
    }
    after_batch(large);
    return handed;
}

// Whether to look again later rather than at the next frame (frame_ring.hpp).
void FrameRing::after_batch(int large) {
    int64_t now = loop_.clock_ms();
    if (now != tick_ms_) {
        tick_ms_ = now;
        large_in_tick_ = 0;
    }
    large_in_tick_ += large;
    bool stream =
        linger_timer_ && (lingering_ ? large >= kLingerFrames : large_in_tick_ >= kStreamFrames);
    if (stream) {
        itimerspec later{};
        later.it_value.tv_nsec = kLingerUs * 1000;
        if (timerfd_settime(linger_timer_.get(), 0, &later, nullptr) < 0) stream = false;
    }
    if (stream != lingering_) loop_.set_events(socket_.get(), stream ? 0 : POLLIN);
    if (stream && !lingering_) lingers_++;
    lingering_ = stream;
}

void FrameRing::on_linger_done() {
    uint64_t expirations;
    if (read(linger_timer_.get(), &expirations, sizeof expirations) < 0 || !lingering_) return;
    on_ready();
}

const uint8_t* FrameRing::end() const {
    return ring_ ? ring_ + kRingSize : nullptr;
}

uint64_t FrameRing::drops() {
    tpacket_stats s{};
    socklen_t len = sizeof s;
    // Reading the kernel's counts resets them.
    if (ring_ && getsockopt(socket_.get(), SOL_PACKET, PACKET_STATISTICS, &s, &len) == 0)
        drops_ += s.tp_drops;
    return drops_;
}
