// SPDX-License-Identifier: GPL-2.0-or-later
// packet_path.cpp: device <-> reassembly <-> libslirp (see packet_path.hpp).
// Per-frame code: [[gnu::hot]] keeps it in .text.hot next to the event loop.
#include "packet_path.hpp"

#include <arpa/inet.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dns_forwarder.hpp"
#include "error.hpp"
#include "kernel_tcp.hpp"
#include "kernel_udp.hpp"
#include "packet_capture.hpp"
#include "stats.hpp"
#include "urgent_data_fence.hpp"

namespace {

// Frames read from the device per wakeup before libslirp's sockets get a turn:
// large enough to amortize poll(), small enough that sockets are not starved.
constexpr int kFramesPerWakeup = 64;
// A frame never exceeds MTU + Ethernet header (libslirp's maximum MTU is
// 65521, a TSO segment 64 KiB), plus the virtio-net header.
constexpr size_t kFrameBufferSize = 65536 + 64 + sizeof(VnetHeader);

}  // namespace

bool PacketPath::attach_device(UniqueFd device, std::string name, Device kind, std::string* err) {
    kind_ = kind;
    device_ = std::move(device);
    device_name_ = std::move(name);
    // Left uninitialized: an idle daemon never touches most of its pages.
    if (!buffer_) buffer_ = std::make_unique_for_overwrite<uint8_t[]>(kFrameBufferSize);
    return loop_.watch(
        device_.get(), POLLIN, [this](short) { on_device_ready(); }, err);
}

[[gnu::hot]] void PacketPath::on_device_ready() {
    // The held ACKs, once written, make the guest's kernel queue its next
    // segments at once (in this very write): read those in the same wakeup
    // rather than going through poll() again, which costs O(all libslirp
    // sockets) per cycle.
    int budget = kFramesPerWakeup;
    loop_.busy_poll_hint().guest_batch_begins();
    while (budget > 0 && !loop_.stopping()) {
        in_batch_ = true;
        int got = drain_device(budget);
        in_batch_ = false;
        bool held = acks_.held() > 0;
        // Its answers come through send_with_header, after the ACKs held. A
        // batch it ended early (a small request) goes on with the rest.
        bool request = kernel_tcp_ && kernel_tcp_->guest_batch_done();
        acks_.flush([this](const uint8_t* f, size_t n) { emit(f, n); });
        budget -= got;
        if ((!held && !request) || got == 0) break;
    }
}

// Reads up to `budget` frames; returns how many were read.
[[gnu::hot]] int PacketPath::drain_device(int budget) {
    size_t skip = vnet_framing() ? sizeof(VnetHeader) : 0;
    for (int i = 0; i < budget; i++) {
        ssize_t n = read(device_.get(), buffer_.get(), kFrameBufferSize);
        if (n > static_cast<ssize_t>(skip)) {
            VnetHeader header;
            if (skip) std::memcpy(&header, buffer_.get(), sizeof header);
            from_guest(buffer_.get() + skip, static_cast<size_t>(n) - skip,
                       skip ? &header : nullptr);
            if (kernel_tcp_ && kernel_tcp_->request_waiting()) return i + 1;
            continue;
        }
        if (n > 0) continue;  // a bare virtio-net header
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return i;
        device_gone(n == 0 ? "closed" : errno_text("read"));
        return i;
    }
    return budget;
}

[[gnu::hot]] void PacketPath::from_guest(uint8_t* frame, size_t len, const VnetHeader* vnet) {
    stats_.frames_from_guest++;
    stats_.bytes_from_guest += len;
    loop_.busy_poll_hint().guest_frame(len);
    if (capture_) capture(frame, len, vnet);
    route_from_guest(frame, len, vnet);
}

// As the guest sent it, before any change; a UDP GSO frame as the datagrams
// it stands for (whole, it would read as one giant datagram).
void PacketPath::capture(const uint8_t* frame, size_t len, const VnetHeader* vnet) {
    auto write = [this](const uint8_t* f, size_t n) { capture_->write(f, n); };
    if (vnet && vnet->gso_type == kVnetGsoUdpL4 &&
        vnet_segment_udp(frame, len, vnet->gso_size, write))
        return;
    capture_->write(frame, len);
}

void PacketPath::give_back_from_guest(const VnetHeader& header, uint8_t* frame, size_t len) {
    route_from_guest(frame, len, vnet_framing() ? &header : nullptr);
}

[[gnu::hot]] void PacketPath::route_from_guest(uint8_t* frame, size_t len, const VnetHeader* vnet) {
    // Located once, for every step below: none moves a header.
    TcpView tcp = find_tcp(frame, len);
    // The kernel path takes its flows' frames as they are, header and all:
    // the private tap segments and checksums.
    if (kernel_tcp_ && kernel_tcp_->from_guest(vnet ? *vnet : VnetHeader{}, frame, len, tcp))
        return;
    // A whole UDP datagram whose checksum the guest's kernel left to the
    // device goes to its host socket unsummed (nothing else looks at it).
    if (vnet && (vnet->flags & kVnetNeedsCsum) && vnet->gso_type != kVnetGsoUdpL4 && kernel_udp_ &&
        kernel_udp_->from_guest(frame, len, true))
        return;
    if (vnet && vnet->gso_type == kVnetGsoUdpL4) {
        udp_segments_from_guest(frame, len, vnet->gso_size);
        return;
    }
    if (vnet) {
        // A frame the kernel did not finish: complete its checksum (libslirp
        // checks every one) and raise a SYN's MSS so libslirp may send large
        // segments, which send_to_guest hands back for the kernel to cut.
        if ((vnet->flags & kVnetNeedsCsum) &&
            !vnet_complete_checksum(frame, len, vnet->csum_start, vnet->csum_offset))
            return;
        if (offloads_.segment_mtu) vnet_raise_syn_mss(frame, tcp, offloads_.segment_mtu);
    }
    // A datagram rebuilt from fragments is a frame of its own.
    reassembly_.pass(
        frame, len, [this] { return loop_.clock_ms(); },
        [this, frame, &tcp](uint8_t* whole, size_t n) {
            if (dns_ && dns_->from_guest(whole, n)) return;
            if (kernel_udp_ && kernel_udp_->from_guest(whole, n)) return;
            to_slirp(whole, n, whole == frame ? tcp : find_tcp(whole, n));
        });
}

// A UDP GSO frame (the tap takes USO): to its host socket whole, in one
// send; for anyone else (libslirp, the DNS forwarder), the datagrams it
// stands for, each on the way an ordinary frame takes. One that is no UDP
// datagram is dropped: whole, it would mean nothing to them.
[[gnu::hot]] void PacketPath::udp_segments_from_guest(uint8_t* frame, size_t len,
                                                      uint16_t gso_size) {
    if (kernel_udp_ && kernel_udp_->from_guest(frame, len, true, gso_size)) return;
    vnet_segment_udp(frame, len, gso_size,
                     [this](uint8_t* f, size_t n) { route_from_guest(f, n, nullptr); });
}

// A whole frame from the guest, through the fences that keep libslirp 4.7.0's
// known guest-reachable bugs out of reach (doc/libslirp-audit.md).
[[gnu::hot]] void PacketPath::to_slirp(uint8_t* frame, size_t len, const TcpView& tcp) {
    if (fence_urgent_data_) urgent_data_fence(frame, tcp);
    stack_.input(frame, len);
}

void PacketPath::device_gone(const std::string& why) {
    log_error(device_name_ + " is gone (" + why +
              "); the network namespace or the client has probably exited");
    loop_.unwatch(device_.get());
    loop_.stop(1);
}

[[gnu::hot]] void PacketPath::send_to_guest(const uint8_t* frame, size_t len) {
    uint8_t ndp[2048];
    if (ndp_mac_ && len <= sizeof ndp && is_ndp(frame, len)) {
        std::memcpy(ndp, frame, len);
        rewrite_ndp_mac(ndp, len, *ndp_mac_);
        frame = ndp;
    }
    auto write = [this](const uint8_t* f, size_t n) { emit(f, n); };
    if (in_batch_ && acks_.hold(frame, len, write)) return;
    acks_.flush(write);  // frames keep their order
    emit(frame, len);
}

[[gnu::hot]] void PacketPath::send_with_header(const VnetHeader& header, const uint8_t* frame,
                                               size_t len) {
    acks_.flush([this](const uint8_t* f, size_t n) { emit(f, n); });  // frames keep their order
    emit(frame, len, &header);
}

// One write for many datagrams, counted as the frames the guest gets. A
// kernel that refuses the GSO type is told once; later runs go one by one.
[[gnu::hot]] bool PacketPath::send_segments(const VnetHeader& header, const uint8_t* headers,
                                            size_t header_len, const iovec* segments,
                                            size_t count) {
    constexpr size_t kMostSegments = 64;
    if (!vnet_framing() || segments_refused_ || count > kMostSegments || !header.gso_size)
        return false;
    // One the kernel is to cut further would be one large datagram there.
    if (capture_)
        for (size_t i = 0; i < count; i++)
            if (segments[i].iov_len - header_len > header.gso_size) return false;
    acks_.flush([this](const uint8_t* f, size_t n) { emit(f, n); });  // frames keep their order
    iovec iov[kMostSegments + 2];
    iov[0] = {const_cast<VnetHeader*>(&header), sizeof header};
    iov[1] = {const_cast<uint8_t*>(headers), header_len};
    size_t bytes = 0, frames = 0;
    for (size_t i = 0; i < count; i++) {
        size_t payload = segments[i].iov_len - header_len;
        iov[i + 2] = {static_cast<uint8_t*>(segments[i].iov_base) + header_len, payload};
        size_t cut = (payload + header.gso_size - 1) / header.gso_size;
        frames += cut ? cut : 1;
        bytes += payload + header_len * (cut ? cut : 1);
    }
    if (writev(device_.get(), iov, static_cast<int>(count + 2)) < 0) {
        if (errno == EINVAL) {
            segments_refused_ = true;
            log_error(device_name_ + " refuses UDP GSO frames; datagrams go one by one");
            return false;
        }
        stats_.frames_dropped += frames;  // a full device queue
        return true;
    }
    if (capture_)
        for (size_t i = 0; i < count; i++)
            capture_->write(static_cast<const uint8_t*>(segments[i].iov_base), segments[i].iov_len);
    stats_.frames_to_guest += frames;
    stats_.bytes_to_guest += bytes;
    return true;
}

// The device write of every other frame, counted. header: the virtio-net header the frame
// came with, written as is; without one, a virtio-net tap gets one made here.
[[gnu::hot]] ssize_t PacketPath::emit(const uint8_t* frame, size_t len, const VnetHeader* header) {
    ssize_t n;
    if (!vnet_framing())
        n = write(device_.get(), frame, len);
    else if (header)
        n = write_vnet_parts(VnetOutput{VnetOutput::Plain, *header}, frame, len);
    else
        n = write_vnet(frame, len);
    if (n < 0) {
        stats_.frames_dropped++;  // a full device queue: TCP retransmits
        return n;
    }
    if (capture_) capture_->write(frame, len);  // whole, before the device cuts it
    stats_.frames_to_guest++;
    stats_.bytes_to_guest += len;
    return n;
}

// One frame to a virtio-net tap: a header, then the frame; a TCP segment
// above the tap's MTU goes whole with a GSO header, and any TCP frame with
// its checksum field turned back into the partial form (the kernel completes
// it per segment, or trusts it on local delivery).
[[gnu::hot]] ssize_t PacketPath::write_vnet(const uint8_t* frame, size_t len) {
    unsigned mtu = offloads_.segment_mtu;
    VnetOutput out = vnet_classify_output(frame, len, mtu);
    if (out.kind == VnetOutput::Fragment) {
        ssize_t result = static_cast<ssize_t>(len);
        bool split = vnet_fragment_ipv4(frame, len, mtu, [&](const uint8_t* p, size_t n) {
            if (write_vnet_parts(VnetOutput{}, p, n) < 0) result = -1;
        });
        return split ? result : static_cast<ssize_t>(len);  // DF set: too big to deliver
    }
    return write_vnet_parts(out, frame, len);
}

[[gnu::hot]] ssize_t PacketPath::write_vnet_parts(const VnetOutput& out, const uint8_t* frame,
                                                  size_t len) {
    iovec iov[4];
    int count = 0;
    iov[count++] = {const_cast<VnetHeader*>(&out.header), sizeof out.header};
    uint16_t check = 0;
    if (out.kind == VnetOutput::Segmented || out.kind == VnetOutput::Partial) {
        check = htons(out.partial_check);
        iov[count++] = {const_cast<uint8_t*>(frame), out.check_offset};
        iov[count++] = {&check, sizeof check};
        iov[count++] = {const_cast<uint8_t*>(frame) + out.check_offset + 2,
                        len - out.check_offset - 2};
    } else {
        iov[count++] = {const_cast<uint8_t*>(frame), len};
    }
    ssize_t n = writev(device_.get(), iov, count);
    return n < 0 ? n : static_cast<ssize_t>(len);
}
