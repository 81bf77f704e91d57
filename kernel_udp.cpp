// SPDX-License-Identifier: GPL-2.0-or-later
// kernel_udp.cpp: the kernel UDP path (see kernel_udp.hpp). Per-datagram
// code is [[gnu::hot]], next to the event loop.
#include "kernel_udp.hpp"

#include <linux/errqueue.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "checksum.hpp"
#include "error.hpp"
#include "wire.hpp"

namespace {

// Replies read per recvmmsg, and batches per readiness: a busy flow yields
// to the rest of the loop after that many.
constexpr unsigned kBatch = 32;
constexpr unsigned kBatchesPerWakeup = 4;
// A slot: the largest datagram behind the largest headroom.
constexpr size_t kSlotHeadroom = udp_frame_headroom(AF_INET6);
constexpr size_t kSlotPayload = 65536;
constexpr size_t kSlotSize = kSlotHeadroom + kSlotPayload + 2;  // keeps slots 4-aligned
constexpr size_t kBufferSize = kBatch * kSlotSize;
// The payloads of a run sent as one frame: what one IPv4 packet holds.
constexpr size_t kMostRunPayload = 65535 - 20 - 8;
constexpr int kReceiveBuffer = 4 << 20;
// Errors read per readiness; the rest wait for the next turn.
constexpr int kErrorsPerWakeup = 16;
constexpr uint16_t kDhcpServer = 67, kTftpServer = 69, kDhcp6Server = 547;

bool is_loopback(const sockaddr_storage& a) {
    if (a.ss_family == AF_INET)
        return (ntohl(reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr) >> 24) == 127;
    return a.ss_family == AF_INET6 &&
           IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr);
}

// The address and port of a's, as the guest is to see them: the host's
// loopback is the gateway.
void guest_view(const KernelPathScope& scope, const sockaddr_storage& a, uint8_t* addr,
                uint16_t* port) {
    if (a.ss_family == AF_INET) {
        const auto& sin = reinterpret_cast<const sockaddr_in&>(a);
        std::memcpy(addr, is_loopback(a) ? &scope.gateway : &sin.sin_addr, 4);
        *port = ntohs(sin.sin_port);
        return;
    }
    const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(a);
    std::memcpy(addr, is_loopback(a) ? &scope.gateway6 : &sin6.sin6_addr, 16);
    *port = ntohs(sin6.sin6_port);
}

// The bytes at iov in one send with UDP_SEGMENT: the host cuts them into
// datagrams of `segment` bytes (the last may be shorter). False with errno
// set when the host refused.
bool send_segmented(int fd, const iovec* iov, size_t count, uint16_t segment,
                    const sockaddr_storage& to, socklen_t to_len) {
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof segment)] = {};
    msghdr m{};
    m.msg_name = const_cast<sockaddr_storage*>(&to);
    m.msg_namelen = to_len;
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = count;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof segment);
    std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    return sendmsg(fd, &m, MSG_DONTWAIT) >= 0;
}

}  // namespace

[[gnu::hot]] bool parse_udp_frame(const uint8_t* frame, size_t len, UdpDatagram* out,
                                  bool check_sum) {
    if (len < kEthHeader + 28) return false;
    const uint8_t* ip = frame + kEthHeader;
    size_t udp, ip_end;
    uint64_t pseudo;
    uint16_t type = load16(frame + 12);
    if (type == kEthIpv4) {
        size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
        if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != kProtoUdp) return false;
        if ((load16(ip + 6) & 0x3fff) != 0) return false;  // a fragment
        ip_end = kEthHeader + load16(ip + 2);
        udp = kEthHeader + ihl;
        out->family = AF_INET;
        std::memcpy(out->src.data(), ip + 12, 4);
        std::memcpy(out->dst.data(), ip + 16, 4);
        pseudo = checksum_sum(ip + 12, 8);
    } else if (type == kEthIpv6) {
        if (len < kEthHeader + 48 || (ip[0] >> 4) != 6 || ip[6] != kProtoUdp) return false;
        ip_end = kEthHeader + 40 + load16(ip + 4);
        udp = kEthHeader + 40;
        out->family = AF_INET6;
        std::memcpy(out->src.data(), ip + 8, 16);
        std::memcpy(out->dst.data(), ip + 24, 16);
        pseudo = checksum_sum(ip + 8, 32);
    } else {
        return false;
    }
    if (ip_end > len || udp + 8 > ip_end) return false;
    const uint8_t* uh = frame + udp;
    size_t udp_len = load16(uh + 4);
    if (udp_len < 8 || udp + udp_len > ip_end) return false;
    uint16_t check = load16(uh + 6);
    // IPv4 may leave it out; IPv6 may not, and libslirp drops such datagrams.
    if (check_sum && (check != 0 || out->family == AF_INET6)) {
        uint8_t tail[4] = {0, kProtoUdp, static_cast<uint8_t>(udp_len >> 8),
                           static_cast<uint8_t>(udp_len)};
        uint64_t sum = checksum_sum(uh, udp_len, checksum_sum(tail, 4, pseudo));
        if (check == 0 || checksum_fold(sum) != 0xffff) return false;
    }
    out->sport = load16(uh);
    out->dport = load16(uh + 2);
    out->payload = udp + 8;
    out->payload_len = udp_len - 8;
    return true;
}

bool kernel_udp_serves(const KernelPathScope& scope, const UdpDatagram& d) {
    TcpFrame t;
    t.family = d.family;
    t.src = d.src;
    t.dst = d.dst;
    if (!kernel_serves(scope, t)) return false;
    if (d.family == AF_INET) {
        if (d.dst[0] == 169 && d.dst[1] == 254) return false;  // link-local
        // libslirp's own servers on the gateway: BOOTP/DHCP and TFTP.
        if (std::memcmp(d.dst.data(), &scope.gateway, 4) == 0)
            return d.dport != kDhcpServer && d.dport != kTftpServer;
        return true;
    }
    if (std::memcmp(d.dst.data(), &scope.gateway6, 16) == 0) return d.dport != kDhcp6Server;
    return true;
}

[[gnu::hot]] uint8_t* build_udp_frame(uint8_t* payload, size_t payload_len, int family,
                                      const uint8_t* dst_mac, const uint8_t* src_mac,
                                      const uint8_t* src, uint16_t sport, const uint8_t* dst,
                                      uint16_t dport, bool partial) {
    size_t headroom = udp_frame_headroom(family);
    uint8_t* frame = payload - headroom;
    std::memset(frame, 0, headroom);
    std::memcpy(frame, dst_mac, 6);
    std::memcpy(frame + 6, src_mac, 6);
    uint64_t pseudo;
    size_t udp = write_ip_header(frame, family, kProtoUdp, src, dst, payload_len + 8, &pseudo);
    uint8_t* uh = frame + udp;
    store16(uh, sport);
    store16(uh + 2, dport);
    store16(uh + 4, static_cast<uint16_t>(payload_len + 8));
    if (partial) {
        size_t n = payload_len + 8;
        uint8_t tail[4] = {0, kProtoUdp, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
        store16(uh + 6, checksum_fold(checksum_sum(tail, 4, pseudo)));
        return frame;
    }
    uint16_t check = transport_checksum(pseudo, kProtoUdp, uh, payload_len + 8);
    store16(uh + 6, check == 0 ? 0xffff : check);
    return frame;
}

VnetHeader udp_partial_header(int family) {
    VnetHeader h{};
    h.flags = kVnetNeedsCsum;
    h.csum_start = static_cast<uint16_t>(udp_frame_headroom(family) - 8);
    h.csum_offset = 6;
    return h;
}

size_t build_udp_error(const UdpErrorFrame& e, uint8_t* out) {
    std::memset(out, 0, kUdpErrorFrameSize);
    std::memcpy(out, e.guest_mac, 6);
    std::memcpy(out + 6, e.gateway_mac, 6);
    const bool v6 = e.family == AF_INET6;
    const size_t ip_len = v6 ? 40 : 20;
    size_t quoted = std::min(e.payload_known, kUdpErrorQuote);
    size_t message = 8 + ip_len + 8 + quoted;
    uint64_t pseudo;
    size_t icmp = write_ip_header(out, e.family, v6 ? kProtoIcmp6 : kProtoIcmp, e.from, e.guest,
                                  message, &pseudo);
    uint8_t* m = out + icmp;
    m[0] = e.type;
    m[1] = e.code;
    if (v6) {
        store16(m + 4, static_cast<uint16_t>(e.info >> 16));
        store16(m + 6, static_cast<uint16_t>(e.info));
    } else {
        store16(m + 6, static_cast<uint16_t>(e.info));  // next-hop MTU (RFC 1191)
    }
    // The datagram as the guest sent it: its IP header, its UDP header and
    // the start of its payload.
    uint8_t* q = m + 8;
    size_t datagram = 8 + e.payload_len;
    if (v6) {
        q[0] = 0x60;
        store16(q + 4, static_cast<uint16_t>(datagram));
        q[6] = kProtoUdp;
        q[7] = 64;
        std::memcpy(q + 8, e.guest, 16);
        std::memcpy(q + 24, e.dst, 16);
    } else {
        q[0] = 0x45;
        store16(q + 2, static_cast<uint16_t>(20 + datagram));
        q[8] = 64;
        q[9] = kProtoUdp;
        std::memcpy(q + 12, e.guest, 4);
        std::memcpy(q + 16, e.dst, 4);
        set_ipv4_checksum(q, 20);
    }
    uint8_t* uh = q + ip_len;
    store16(uh, e.guest_port);
    store16(uh + 2, e.dport);
    store16(uh + 4, static_cast<uint16_t>(datagram));
    if (quoted) std::memcpy(uh + 8, e.payload, quoted);
    uint16_t check = v6 ? transport_checksum(pseudo, kProtoIcmp6, m, message)
                        : static_cast<uint16_t>(~checksum_fold(checksum_sum(m, message)));
    store16(m + 2, check);
    return icmp + message;
}

void KernelUdpPath::Unmap::operator()(uint8_t* p) const {
    munmap(p, kBufferSize);
}

KernelUdpPath::KernelUdpPath(EventLoop& loop, Settings settings, GuestOutput& output)
    : loop_(loop), settings_(std::move(settings)), output_(output) {
    // At most half the descriptors (as the limit stands once the kernel TCP
    // path has raised it): a guest using every port must not starve TCP,
    // the API and libslirp of theirs.
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
        settings_.max_flows =
            std::min<size_t>(settings_.max_flows, std::max<rlim_t>(64, lim.rlim_cur / 2));
}

KernelUdpPath::~KernelUdpPath() {
    if (expiry_) loop_.cancel_timer(expiry_);
    for (auto& [id, f] : flows_) loop_.unwatch(f.fd.get());
}

[[gnu::hot]] bool KernelUdpPath::from_guest(const uint8_t* frame, size_t len, bool checksum_partial,
                                            uint16_t gso_size) {
    UdpDatagram d;
    // A GSO frame's checksum is partial whatever its header says: each
    // datagram's is made when it is cut.
    if (!parse_udp_frame(frame, len, &d, !checksum_partial && gso_size == 0) ||
        !kernel_udp_serves(settings_.scope, d))
        return false;
    if (!slirp_forwards_.empty() && slirp_forwards_.count(d.sport)) return false;
    if (d.payload_len <= gso_size) gso_size = 0;  // one datagram
    const size_t datagrams = gso_size ? (d.payload_len + gso_size - 1) / gso_size : 1;
    counters_.datagrams_from_guest += datagrams;
    counters_.bytes_from_guest += d.payload_len;
    if (busy_ && counters_.datagrams_from_guest >= busy_at_) std::exchange(busy_, nullptr)();
    Flow* f = flow_for(d, frame);
    if (!f) {
        counters_.dropped += datagrams;
        return true;
    }
    sockaddr_storage to;
    socklen_t to_len;
    TcpFrame t;
    t.family = d.family;
    t.dst = d.dst;
    t.dport = d.dport;
    host_destination(settings_.scope, t, &to, &to_len);
    if (!gso_size) {
        if (!gather(*f, d, frame, to, to_len)) send_datagram(*f, d, frame, to, to_len);
    } else if (!send_gso(*f, d, frame, gso_size, to, to_len)) {
        // Refused whole (a route MTU below the datagrams, a device without
        // checksum offload, an error pending): each goes as it would have
        // without USO.
        UdpDatagram one = d;
        for (size_t done = 0; done < d.payload_len; done += gso_size) {
            one.payload = d.payload + done;
            one.payload_len = std::min<size_t>(gso_size, d.payload_len - done);
            send_datagram(*f, one, frame, to, to_len);
        }
    }
    // The guest may have changed its MAC since the flow began.
    std::memcpy(f->guest_mac.data(), frame + 6, 6);
    touch(*f);
    return true;
}

// The whole GSO frame's payload, where it lies, in one send that the host
// cuts (or hands on whole, to a UDP_GRO receiver). False when the host
// refused it otherwise than for a full buffer (whose datagrams are counted
// dropped).
[[gnu::hot]] bool KernelUdpPath::send_gso(Flow& f, const UdpDatagram& d, const uint8_t* frame,
                                          uint16_t gso_size, const sockaddr_storage& to,
                                          socklen_t to_len) {
    iovec iov{const_cast<uint8_t*>(frame + d.payload), d.payload_len};
    if (send_segmented(f.fd.get(), &iov, 1, gso_size, to, to_len)) return true;
    if (errno != EAGAIN && errno != ENOBUFS) return false;
    counters_.dropped += (d.payload_len + gso_size - 1) / gso_size;
    return true;
}

// Whether d now waits in the run (the run before it sent first, when d
// cannot join it).
[[gnu::hot]] bool KernelUdpPath::gather(const Flow& f, const UdpDatagram& d, const uint8_t* frame,
                                        const sockaddr_storage& to, socklen_t to_len) {
    if (!run_.begin || frame < run_.begin || frame + d.payload + d.payload_len > run_.end)
        return false;
    // No run holds an empty datagram; it goes now, after what waits, so
    // that its flow keeps its order.
    if (d.payload_len == 0) {
        send_gathered();
        return false;
    }
    // The kernel takes at most 64 KB in one send (the IP length).
    constexpr size_t kMostBytes = 65000;
    bool joins = run_.flow == *f.lru && !run_.ended && run_.count < Run::kMost &&
                 d.payload_len <= run_.segment && run_.bytes + d.payload_len <= kMostBytes &&
                 run_.to_len == to_len && std::memcmp(&run_.to, &to, to_len) == 0;
    if (!joins) {
        send_gathered();
        run_.flow = *f.lru;
        run_.to = to;
        run_.to_len = to_len;
        run_.segment = d.payload_len;
    }
    run_.ended = d.payload_len < run_.segment;
    run_.bytes += d.payload_len;
    run_.frames[run_.count] = frame;
    run_.datagrams[run_.count] = d;
    run_.count++;
    return true;
}

// The run in one send; where the host refuses that (a route MTU below the
// datagrams, say), each on its own, as they would have gone ungathered.
[[gnu::hot]] void KernelUdpPath::send_gathered() {
    if (run_.count == 0) return;
    Run& r = run_;
    auto it = flows_.find(std::exchange(r.flow, 0));
    size_t count = std::exchange(r.count, 0);
    r.bytes = 0;
    r.ended = false;
    // Its flow ended meanwhile (another took its place at the bound).
    if (it == flows_.end()) {
        counters_.dropped += count;
        return;
    }
    Flow& f = it->second;
    if (count > 1) {
        std::array<iovec, Run::kMost> iov;
        for (size_t i = 0; i < count; i++)
            iov[i] = {const_cast<uint8_t*>(r.frames[i] + r.datagrams[i].payload),
                      r.datagrams[i].payload_len};
        if (send_segmented(f.fd.get(), iov.data(), count, static_cast<uint16_t>(r.segment), r.to,
                           r.to_len)) {
            counters_.runs_from_guest++;
            return;
        }
        if (errno == EAGAIN || errno == ENOBUFS) {
            counters_.dropped += count;
            return;
        }
    }
    for (size_t i = 0; i < count; i++)
        send_datagram(f, r.datagrams[i], r.frames[i], r.to, r.to_len);
}

// One datagram, the payload where it lies in the frame.
[[gnu::hot]] void KernelUdpPath::send_datagram(Flow& f, const UdpDatagram& d, const uint8_t* frame,
                                               const sockaddr_storage& to, socklen_t to_len) {
    const uint8_t* payload = frame + d.payload;
    ssize_t n = sendto(f.fd.get(), payload, d.payload_len, MSG_DONTWAIT,
                       reinterpret_cast<const sockaddr*>(&to), to_len);
    // An ICMP error that came for an earlier datagram fails the next send
    // once (and is gone then): this datagram still goes.
    if (n < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EMSGSIZE)
        n = sendto(f.fd.get(), payload, d.payload_len, MSG_DONTWAIT,
                   reinterpret_cast<const sockaddr*>(&to), to_len);
    if (n < 0) {
        counters_.dropped++;
        // A full buffer is a moment's; anything else (no route, say) the
        // guest hears of as libslirp tells it: network unreachable.
        if (errno != EAGAIN && errno != ENOBUFS) answer_unreachable(f, d, frame);
    }
}

void KernelUdpPath::answer_unreachable(const Flow& f, const UdpDatagram& d, const uint8_t* frame) {
    bool v6 = d.family == AF_INET6;
    UdpErrorFrame e;
    e.family = d.family;
    e.type = v6 ? 1 : ICMP_UNREACH;  // ICMPv6 destination unreachable, no route: code 0
    e.code = v6 ? 0 : ICMP_UNREACH_NET;
    e.guest_mac = frame + 6;
    e.gateway_mac = f.gateway_mac.data();
    e.from = v6 ? reinterpret_cast<const uint8_t*>(&settings_.scope.gateway6)
                : reinterpret_cast<const uint8_t*>(&settings_.scope.gateway);
    e.guest = d.src.data();
    e.guest_port = d.sport;
    e.dst = d.dst.data();
    e.dport = d.dport;
    e.payload = frame + d.payload;
    e.payload_len = d.payload_len;
    e.payload_known = d.payload_len;
    uint8_t out[kUdpErrorFrameSize];
    output_.send_to_guest(out, build_udp_error(e, out));
}

KernelUdpPath::Flow* KernelUdpPath::flow_for(const UdpDatagram& d, const uint8_t* frame) {
    Key key{static_cast<uint8_t>(d.family), d.src, d.sport};
    if (auto it = by_key_.find(key); it != by_key_.end()) return &flows_.at(it->second);
    if (!buffer_) {
        void* p =
            mmap(nullptr, kBufferSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return nullptr;
        buffer_.reset(static_cast<uint8_t*>(p));
    }
    if (flows_.size() >= settings_.max_flows) close_flow(lru_.back());
    UniqueFd fd = open_socket(d.family);
    // Out of descriptors: the least recently used flow gives up its own.
    if (!fd && (errno == EMFILE || errno == ENFILE) && !lru_.empty()) {
        close_flow(lru_.back());
        fd = open_socket(d.family);
    }
    if (!fd) return nullptr;
    uint64_t id = next_id_++;
    if (!loop_.watch(
            fd.get(), POLLIN, [this, id](short revents) { on_socket(id, revents); }, nullptr))
        return nullptr;
    Flow& f = flows_[id];
    f.key = key;
    f.fd = std::move(fd);
    std::memcpy(f.guest_mac.data(), frame + 6, 6);
    std::memcpy(f.gateway_mac.data(), frame, 6);
    lru_.push_front(id);
    f.lru = lru_.begin();
    f.last_ms = loop_.clock_ms();
    by_key_[key] = id;
    counters_.flows = flows_.size();
    if (!expiry_) arm_expiry();
    return &f;
}

UniqueFd KernelUdpPath::open_socket(int family) {
    UniqueFd fd(socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fd;
    int on = 1;
    // A peer sending faster than the guest reads fills the socket while
    // this process waits for a CPU; the kernel's default (rmem_default,
    // 208 KiB: some 90 datagrams of 1400 bytes) overflowed within half a
    // millisecond. The kernel caps this at net.core.rmem_max, and charges
    // only what is queued.
    int rcvbuf = kReceiveBuffer;
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    // A peer's GSO writes (QUIC servers'), or what a NIC's GRO coalesced,
    // then come whole, to go on as one frame.
    if (settings_.partial_checksums) setsockopt(fd.get(), SOL_UDP, UDP_GRO, &on, sizeof on);
    if (family == AF_INET) {
        setsockopt(fd.get(), IPPROTO_IP, IP_RECVERR, &on, sizeof on);
    } else {
        // Replies to IPv4-mapped addresses would be no guest's.
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
    }
    // As libslirp: a source that cannot be bound sends nothing.
    if (!settings_.outbound.bind_socket(fd.get(), family)) return UniqueFd();
    return fd;
}

[[gnu::hot]] void KernelUdpPath::touch(Flow& f) {
    f.last_ms = loop_.clock_ms();
    if (f.lru != lru_.begin()) lru_.splice(lru_.begin(), lru_, f.lru);
}

void KernelUdpPath::close_flow(uint64_t id) {
    auto it = flows_.find(id);
    if (it == flows_.end()) return;
    loop_.unwatch(it->second.fd.get());
    lru_.erase(it->second.lru);
    by_key_.erase(it->second.key);
    flows_.erase(it);
    counters_.flows = flows_.size();
    // The last flow gone: the pages large replies touched go back.
    if (flows_.empty() && buffer_) madvise(buffer_.get(), kBufferSize, MADV_DONTNEED);
}

[[gnu::hot]] void KernelUdpPath::on_socket(uint64_t id, short revents) {
    auto it = flows_.find(id);
    if (it == flows_.end()) return;
    if (revents & POLLERR) read_errors(it->second);
    if (revents & POLLIN) read_replies(it->second);
}

[[gnu::hot]] void KernelUdpPath::read_replies(Flow& f) {
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    sockaddr_storage peers[kBatch];
    for (unsigned i = 0; i < kBatch; i++) {
        iov[i] = {buffer_.get() + i * kSlotSize + kSlotHeadroom, kSlotPayload};
        msgs[i].msg_hdr = {};
        msgs[i].msg_hdr.msg_name = &peers[i];
        msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    Reply replies[kBatch];
    constexpr size_t kControl = CMSG_SPACE(sizeof(int));
    alignas(cmsghdr) uint8_t control[kBatch][kControl];
    for (unsigned i = 0; i < kBatch; i++) {
        msgs[i].msg_hdr.msg_control = control[i];
        msgs[i].msg_hdr.msg_controllen = kControl;
    }
    for (unsigned round = 0; round < kBatchesPerWakeup; round++) {
        int got = recvmmsg(f.fd.get(), msgs, kBatch, MSG_DONTWAIT, nullptr);
        if (got <= 0) return;  // EAGAIN, or an error the error queue reports
        size_t ready = 0;
        for (int i = 0; i < got; i++) {
            msghdr& h = msgs[i].msg_hdr;
            if (h.msg_flags & MSG_TRUNC)
                counters_.dropped++;
            else if (prepare(f, static_cast<uint8_t*>(iov[i].iov_base), msgs[i].msg_len,
                             gro_segment(h), peers[i], &replies[ready]))
                ready++;
            h.msg_namelen = sizeof peers[i];
            h.msg_controllen = kControl;
            h.msg_flags = 0;
        }
        // Runs from one peer of one size, the last maybe shorter: what a
        // GSO frame can carry.
        for (size_t i = 0; i < ready;) {
            const Reply& first = replies[i];
            size_t n = 1, bytes = first.len;
            if (first.segment) {
                send_bundle(f, first);
                i++;
                continue;
            }
            while (first.partial && first.len > 0 && i + n < ready) {
                const Reply& r = replies[i + n];
                if (r.segment || !r.partial || r.len == 0 || r.len > first.len ||
                    r.port != first.port || r.from != first.from || bytes + r.len > kMostRunPayload)
                    break;
                bytes += r.len;
                n++;
                if (r.len < first.len) break;
            }
            send_run(f, replies + i, n);
            i += n;
        }
        touch(f);
        if (static_cast<unsigned>(got) < kBatch) return;
    }
}

// Checks a reply and builds its frame in front of it; false: dropped.
// segment: the size of the datagrams it holds, when UDP_GRO joined them.
[[gnu::hot]] bool KernelUdpPath::prepare(Flow& f, uint8_t* payload, size_t len, size_t segment,
                                         const sockaddr_storage& peer, Reply* r) {
    const int family = f.key.family;
    r->segment = segment > 0 && segment < len ? segment : 0;
    size_t ip_len = (r->segment ? r->segment : len) + 8 + (family == AF_INET6 ? 40 : 20);
    if (peer.ss_family != family ||
        (ip_len > settings_.mtu && (family == AF_INET6 || !settings_.fragments_ipv4)) ||
        ip_len > 65535 + (family == AF_INET6 ? 40 : 0)) {
        counters_.dropped++;
        return false;
    }
    guest_view(settings_.scope, peer, r->from.data(), &r->port);
    // Above the MTU it is fragmented on the way, which needs it whole.
    r->partial = settings_.partial_checksums && ip_len <= settings_.mtu;
    r->len = len;
    counters_.datagrams_to_guest += r->segment ? (len + r->segment - 1) / r->segment : 1;
    counters_.bytes_to_guest += len;
    loop_.busy_poll_hint().kernel_udp_reply(r->segment ? r->segment : len);
    if (r->segment) {
        r->frame = payload;  // its headers are written as it goes
        return true;
    }
    r->frame = build_udp_frame(payload, len, family, f.guest_mac.data(), f.gateway_mac.data(),
                               r->from.data(), r->port, f.key.guest.data(), f.key.port, r->partial);
    return true;
}

// The datagram size UDP_GRO reports for a message holding several; 0.
size_t KernelUdpPath::gro_segment(msghdr& h) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int size;
            std::memcpy(&size, CMSG_DATA(c), sizeof size);
            return size > 0 ? static_cast<size_t>(size) : 0;
        }
    }
    return 0;
}

// Datagrams UDP_GRO joined: one frame, its headers in the slot's room, that
// the guest's kernel cuts at the datagram size. Where that cannot go (a
// device without virtio-net headers or refusing the type, datagrams above
// the MTU, a capture, which would show one large datagram), they go one by
// one, each frame's headers written over the end of the datagram before
// it, which has been sent by then.
void KernelUdpPath::send_bundle(Flow& f, const Reply& r) {
    const int family = f.key.family;
    const size_t headroom = udp_frame_headroom(family);
    uint8_t* payload = r.frame;
    if (r.partial && r.len <= kMostRunPayload) {
        uint8_t* frame =
            build_udp_frame(payload, r.len, family, f.guest_mac.data(), f.gateway_mac.data(),
                            r.from.data(), r.port, f.key.guest.data(), f.key.port, true);
        VnetHeader h = udp_partial_header(family);
        h.gso_type = kVnetGsoUdpL4;
        h.gso_size = static_cast<uint16_t>(r.segment);
        h.hdr_len = static_cast<uint16_t>(headroom);
        iovec whole{frame, headroom + r.len};
        if (output_.send_segments(h, frame, headroom, &whole, 1)) {
            counters_.gso_frames_to_guest++;
            return;
        }
    }
    for (size_t at = 0; at < r.len; at += r.segment) {
        Reply one = r;
        one.len = std::min(r.segment, r.len - at);
        one.segment = 0;
        one.frame =
            build_udp_frame(payload + at, one.len, family, f.guest_mac.data(), f.gateway_mac.data(),
                            r.from.data(), r.port, f.key.guest.data(), f.key.port, r.partial);
        send_one(one, family);
    }
}

// Two or more: one frame whose headers are those of the run as one
// datagram, gso_size the first's length. Its UDP checksum field holds the
// pseudo-header sum over the whole length, which the guest's kernel
// adjusts to each segment's as it cuts.
[[gnu::hot]] void KernelUdpPath::send_run(Flow& f, const Reply* run, size_t count) {
    const int family = f.key.family;
    const size_t headroom = udp_frame_headroom(family);
    if (count > 1) {
        size_t bytes = 0;
        iovec segments[kBatch];
        for (size_t i = 0; i < count; i++) {
            bytes += run[i].len;
            segments[i] = {run[i].frame, headroom + run[i].len};
        }
        uint8_t headers[kSlotHeadroom];
        build_udp_frame(headers + headroom, bytes, family, f.guest_mac.data(), f.gateway_mac.data(),
                        run[0].from.data(), run[0].port, f.key.guest.data(), f.key.port, true);
        VnetHeader h = udp_partial_header(family);
        h.gso_type = kVnetGsoUdpL4;
        h.gso_size = static_cast<uint16_t>(run[0].len);
        h.hdr_len = static_cast<uint16_t>(headroom);
        if (output_.send_segments(h, headers, headroom, segments, count)) {
            counters_.gso_frames_to_guest++;
            return;
        }
    }
    for (size_t i = 0; i < count; i++) send_one(run[i], family);
}

[[gnu::hot]] void KernelUdpPath::send_one(const Reply& r, int family) {
    size_t frame_len = udp_frame_headroom(family) + r.len;
    if (r.partial)
        output_.send_with_header(udp_partial_header(family), r.frame, frame_len);
    else
        output_.send_to_guest(r.frame, frame_len);
}

// Each queued error names the datagram's destination (msg_name) and holds
// the start of its payload; the guest gets the ICMP error libslirp would
// have sent, for that datagram.
void KernelUdpPath::read_errors(Flow& f) {
    const int family = f.key.family;
    for (int i = 0; i < kErrorsPerWakeup; i++) {
        uint8_t data[kUdpErrorQuote];
        alignas(cmsghdr) uint8_t control[256];
        sockaddr_storage dst{};
        iovec iov{data, sizeof data};
        msghdr h{};
        h.msg_name = &dst;
        h.msg_namelen = sizeof dst;
        h.msg_iov = &iov;
        h.msg_iovlen = 1;
        h.msg_control = control;
        h.msg_controllen = sizeof control;
        ssize_t n = recvmsg(f.fd.get(), &h, MSG_ERRQUEUE | MSG_DONTWAIT);
        if (n < 0) return;
        const sock_extended_err* ee = nullptr;
        for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
            if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
                ee = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(c));
        }
        if (!ee || dst.ss_family != family) continue;
        bool v6 = family == AF_INET6;
        // Only what the network reported: destination unreachable (and
        // packet too big) and time exceeded, as ICMP brought them.
        if (ee->ee_origin != (v6 ? SO_EE_ORIGIN_ICMP6 : SO_EE_ORIGIN_ICMP)) continue;
        bool wanted = v6 ? ee->ee_type == 1 || ee->ee_type == 2 || ee->ee_type == 3
                         : ee->ee_type == ICMP_UNREACH || ee->ee_type == ICMP_TIMXCEED;
        if (!wanted) continue;
        uint8_t to[16];
        uint16_t dport;
        guest_view(settings_.scope, dst, to, &dport);
        UdpErrorFrame e;
        e.family = family;
        e.type = ee->ee_type;
        e.code = ee->ee_code;
        e.info = ee->ee_info;
        e.guest_mac = f.guest_mac.data();
        e.gateway_mac = f.gateway_mac.data();
        e.from = v6 ? reinterpret_cast<const uint8_t*>(&settings_.scope.gateway6)
                    : reinterpret_cast<const uint8_t*>(&settings_.scope.gateway);
        e.guest = f.key.guest.data();
        e.guest_port = f.key.port;
        e.dst = to;
        e.dport = dport;
        // The queue keeps the payload but not its length once cut to what
        // was asked for: the quote's lengths then cover what is quoted
        // (the guest matches the socket by addresses and ports).
        e.payload = data;
        e.payload_known = static_cast<size_t>(n);
        e.payload_len = static_cast<size_t>(n);
        uint8_t frame[kUdpErrorFrameSize];
        output_.send_to_guest(frame, build_udp_error(e, frame));
    }
}

void KernelUdpPath::slirp_forward(uint16_t guest_port, bool added) {
    if (!added) {
        auto it = slirp_forwards_.find(guest_port);
        if (it != slirp_forwards_.end() && --it->second == 0) slirp_forwards_.erase(it);
        return;
    }
    slirp_forwards_[guest_port]++;
    // Its datagrams are libslirp's from now on.
    std::vector<uint64_t> gone;
    for (const auto& [id, f] : flows_)
        if (f.key.port == guest_port) gone.push_back(id);
    for (uint64_t id : gone) close_flow(id);
}

// One timer, due when the least recently used flow would expire.
void KernelUdpPath::arm_expiry() {
    if (lru_.empty()) return;
    int64_t due = flows_.at(lru_.back()).last_ms + settings_.idle_ms;
    expiry_ = loop_.add_timer(due, [this] {
        expiry_ = 0;
        expire();
    });
}

void KernelUdpPath::expire() {
    int64_t now = loop_.clock_ms();
    while (!lru_.empty() && flows_.at(lru_.back()).last_ms + settings_.idle_ms <= now)
        close_flow(lru_.back());
    arm_expiry();
}
