// SPDX-License-Identifier: GPL-2.0-or-later
// ipv4_reassembly.cpp: rebuilding IPv4 datagrams from the guest's fragments
// (see ipv4_reassembly.hpp).
#include "ipv4_reassembly.hpp"

#include <algorithm>
#include <cstring>

#include "checksum.hpp"
#include "wire.hpp"

namespace {

// The parts of a fragment's IPv4 header that reassembly needs, checked
// against the frame it came in.
struct Fragment {
    const uint8_t* ip = nullptr;
    size_t header = 0;
    size_t offset = 0;
    size_t size = 0;
    bool more = false;
    size_t end() const { return offset + size; }
};

bool parse_fragment(const uint8_t* frame, size_t length, Fragment* f) {
    if (length < kEthHeader + 20) return false;
    f->ip = frame + kEthHeader;
    f->header = static_cast<size_t>(f->ip[0] & 0x0f) * 4;
    size_t total = load16(f->ip + 2);
    // Trailing bytes past the IP length are Ethernet padding, not payload.
    if ((f->ip[0] >> 4) != 4 || f->header < 20 || total < f->header || kEthHeader + total > length)
        return false;
    uint16_t flags = load16(f->ip + 6);
    f->more = (flags & 0x2000) != 0;
    f->offset = static_cast<size_t>(flags & 0x1fff) * 8;
    f->size = total - f->header;
    // Every piece but the last carries a multiple of 8 bytes, and no datagram
    // may grow past the 16-bit IP length (the ping-of-death shape).
    if (f->more && (f->size == 0 || f->size % 8 != 0)) return false;
    return f->header + f->end() <= 65535;
}

}  // namespace

std::span<uint8_t> Ipv4Reassembly::absorb(const uint8_t* frame, size_t length, int64_t now_ms) {
    discard_expired(now_ms);
    Fragment f;
    if (!parse_fragment(frame, length, &f)) {
        discarded_count_++;
        return {};
    }
    Datagram& d = datagram_for(f.ip, now_ms);
    size_t first_block = f.offset / 8, end_block = (f.end() + 7) / 8;
    bool overlaps =
        std::any_of(d.received.begin() + static_cast<long>(first_block),
                    d.received.begin() + static_cast<long>(end_block), [](bool b) { return b; });
    // A last piece must end the datagram: nothing may lie beyond it, and
    // there can be only one. Overlaps are refused outright, as kernels do
    // since FragmentSmack, so no piece can rewrite another.
    bool ends_wrong = f.more ? d.total >= 0 && static_cast<long>(f.end()) > d.total
                             : d.total >= 0 || d.payload.size() > f.end();
    if (overlaps || ends_wrong) {
        discard(d);
        return {};
    }
    if (d.payload.size() < f.end()) d.payload.resize(f.end());
    std::memcpy(d.payload.data() + f.offset, f.ip + f.header, f.size);
    std::fill(d.received.begin() + static_cast<long>(first_block),
              d.received.begin() + static_cast<long>(end_block), true);
    d.blocks_received += end_block - first_block;
    if (f.offset == 0) d.headers.assign(frame, f.ip + f.header);
    if (!f.more) d.total = static_cast<long>(f.end());
    bool whole = d.total >= 0 && !d.headers.empty() &&
                 d.blocks_received == (static_cast<size_t>(d.total) + 7) / 8;
    return whole ? complete(d) : std::span<uint8_t>{};
}

void Ipv4Reassembly::discard_expired(int64_t now_ms) {
    discarded_count_ +=
        std::erase_if(pending_, [&](const Datagram& d) { return d.deadline_ms <= now_ms; });
}

Ipv4Reassembly::Datagram& Ipv4Reassembly::datagram_for(const uint8_t* ip, int64_t now_ms) {
    uint32_t source = load32(ip + 12), destination = load32(ip + 16);
    uint16_t id = load16(ip + 4);
    uint8_t protocol = ip[9];
    for (auto& d : pending_)
        if (d.source == source && d.destination == destination && d.id == id &&
            d.protocol == protocol)
            return d;
    if (pending_.size() >= kMaxPending) {
        auto oldest = std::min_element(pending_.begin(), pending_.end(), [](auto& a, auto& b) {
            return a.deadline_ms < b.deadline_ms;
        });
        discard(*oldest);
    }
    Datagram& d = pending_.emplace_back();
    d.source = source;
    d.destination = destination;
    d.id = id;
    d.protocol = protocol;
    d.deadline_ms = now_ms + kTimeoutMs;
    d.received.assign(kBlocks, false);
    return d;
}

void Ipv4Reassembly::discard(Datagram& datagram) {
    discarded_count_++;
    pending_.erase(pending_.begin() + (&datagram - pending_.data()));
}

std::span<uint8_t> Ipv4Reassembly::complete(Datagram& d) {
    size_t header = d.headers.size() - kEthHeader;
    if (header + static_cast<size_t>(d.total) > 65535) {  // options made it too long
        discard(d);
        return {};
    }
    whole_ = std::move(d.headers);
    whole_.insert(whole_.end(), d.payload.begin(), d.payload.begin() + d.total);
    uint8_t* ip = whole_.data() + kEthHeader;
    store16(ip + 2, static_cast<uint16_t>(header + static_cast<size_t>(d.total)));
    store16(ip + 6, 0);
    set_ipv4_checksum(ip, header);
    pending_.erase(pending_.begin() + (&d - pending_.data()));
    completed_count_++;
    return whole_;
}
