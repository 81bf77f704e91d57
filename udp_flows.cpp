// SPDX-License-Identifier: GPL-2.0-or-later
// udp_flows.cpp: splice-mode UDP flows (see udp_flows.hpp).
#include "udp_flows.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace {

constexpr unsigned kUdpBatch = 32;
constexpr size_t kUdpDatagramMax = 65536;
// Datagrams of a new peer kept while its flow's socket is being opened.
constexpr size_t kUdpWaiting = 64;

}  // namespace

UdpFlows::UdpFlows(EventLoop& loop, SocketOpener& opener, int64_t idle_ms, SourceFor source_for)
    : loop_(loop), opener_(opener), idle_ms_(idle_ms), source_for_(std::move(source_for)) {}

UdpFlows::~UdpFlows() {
    for (auto& [handle, p] : ports_) loop_.unwatch(p.fd.get());
    for (auto& [id, f] : flows_)
        if (f->fd) loop_.unwatch(f->fd.get());
    if (idle_timer_) loop_.cancel_timer(idle_timer_);
}

bool UdpFlows::add_port(Handle handle, UniqueFd socket, const sockaddr_storage& guest,
                        socklen_t guest_len, std::string* err) {
    if (buffers_.empty()) buffers_.resize(kUdpBatch * kUdpDatagramMax);
    if (!loop_.watch(
            socket.get(), POLLIN, [this, handle](short) { from_host(handle); }, err))
        return false;
    ports_.emplace(handle, Port{std::move(socket), guest, guest_len});
    return true;
}

bool UdpFlows::remove_port(Handle handle) {
    auto it = ports_.find(handle);
    if (it == ports_.end()) return false;
    std::vector<uint64_t> doomed;
    for (const auto& [id, f] : flows_)
        if (f->port == handle) doomed.push_back(id);
    for (uint64_t id : doomed) close_flow(id);
    loop_.unwatch(it->second.fd.get());
    ports_.erase(it);
    return true;
}

uint16_t UdpFlows::bound_port(Handle handle) const {
    auto it = ports_.find(handle);
    return it == ports_.end() ? 0 : bound_port_of(it->second.fd.get());
}

uint64_t UdpFlows::find_or_open_flow(Handle handle, const Port& p, const sockaddr_storage& peer,
                                     socklen_t peer_len) {
    auto key = std::make_pair(handle, std::string(reinterpret_cast<const char*>(&peer), peer_len));
    auto found = flow_by_peer_.find(key);
    if (found != flow_by_peer_.end()) return found->second;
    SourceAddress from = source_for_(peer, p.guest.ss_family);
    // A transparent flow's reply rule is named by the port it is for.
    uint16_t diverted_port = from.len > 0 ? port_host_order(p.guest) : 0;
    uint64_t id = next_id_++;
    auto flow =
        std::make_unique<Flow>(Flow{UniqueFd(), handle, peer, peer_len, loop_.clock_ms(), {}});
    flows_.emplace(id, std::move(flow));
    flow_by_peer_.emplace(std::move(key), id);
    arm_idle_timer();
    opener_.open_socket(SOCK_DGRAM, p.guest, p.guest_len, from,
                        [this, id, diverted_port](UniqueFd fd, const Failure&) {
                            flow_opened(id, std::move(fd), diverted_port);
                        });
    return id;
}

// Datagrams that came while the flow's socket was being opened go first.
void UdpFlows::flow_opened(uint64_t id, UniqueFd fd, uint16_t diverted_port) {
    // The helper names the flow's reply rule by where the socket is bound;
    // a flow that ended while its socket was coming hands the rule back now.
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    bool diverted = fd && diverted_port != 0 &&
                    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len) == 0;
    auto it = flows_.find(id);
    if (it == flows_.end()) {
        if (diverted) opener_.release_udp_flow(local, diverted_port);
        return;
    }
    if (!fd) {
        close_flow(id);
        return;
    }
    Flow& f = *it->second;
    f.fd = std::move(fd);
    f.diverted = diverted;
    f.local = local;
    f.guest_port = diverted_port;
    if (!loop_.watch(
            f.fd.get(), POLLIN, [this, id](short) { from_guest(id); }, nullptr)) {
        close_flow(id);
        return;
    }
    // Named, as every send to the guest: a transparent flow's socket is
    // not connected (see SocketOpener).
    auto port = ports_.find(f.port);
    if (port != ports_.end())
        for (const std::string& datagram : f.waiting)
            sendto(f.fd.get(), datagram.data(), datagram.size(), MSG_DONTWAIT,
                   reinterpret_cast<const sockaddr*>(&port->second.guest), port->second.guest_len);
    f.waiting.clear();
    f.waiting.shrink_to_fit();
}

void UdpFlows::from_host(Handle handle) {
    auto it = ports_.find(handle);
    if (it == ports_.end()) return;
    const Port& p = it->second;
    mmsghdr in[kUdpBatch] = {};
    iovec iov[kUdpBatch];
    sockaddr_storage peers[kUdpBatch];
    for (unsigned i = 0; i < kUdpBatch; i++) {
        iov[i] = {buffers_.data() + i * kUdpDatagramMax, kUdpDatagramMax};
        in[i].msg_hdr.msg_iov = &iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
        in[i].msg_hdr.msg_name = &peers[i];
        in[i].msg_hdr.msg_namelen = sizeof peers[i];
    }
    int n = recvmmsg(p.fd.get(), in, kUdpBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    int64_t now = loop_.clock_ms();
    sockaddr_storage guest = p.guest;
    // Consecutive datagrams of one peer leave in one sendmmsg().
    mmsghdr out[kUdpBatch] = {};
    iovec out_iov[kUdpBatch];
    int i = 0;
    while (i < n) {
        uint64_t flow_id = find_or_open_flow(handle, p, peers[i], in[i].msg_hdr.msg_namelen);
        int j = i;
        unsigned count = 0;
        while (j < n && in[j].msg_hdr.msg_namelen == in[i].msg_hdr.msg_namelen &&
               std::memcmp(&peers[j], &peers[i], in[i].msg_hdr.msg_namelen) == 0) {
            out_iov[count] = {iov[j].iov_base, in[j].msg_len};
            out[count].msg_hdr = {};
            out[count].msg_hdr.msg_name = &guest;
            out[count].msg_hdr.msg_namelen = p.guest_len;
            out[count].msg_hdr.msg_iov = &out_iov[count];
            out[count].msg_hdr.msg_iovlen = 1;
            count++;
            j++;
        }
        auto f = flows_.find(flow_id);
        if (f != flows_.end() && f->second->fd) {
            f->second->last_active_ms = now;
            // A full socket buffer drops datagrams, as the network would.
            sendmmsg(f->second->fd.get(), out, count, MSG_DONTWAIT);
        } else if (f != flows_.end()) {
            // Still opening: a few wait, as a socket buffer would hold them.
            for (unsigned k = 0; k < count && f->second->waiting.size() < kUdpWaiting; k++)
                f->second->waiting.emplace_back(static_cast<const char*>(out_iov[k].iov_base),
                                                out_iov[k].iov_len);
        }
        i = j;
    }
}

void UdpFlows::from_guest(uint64_t flow_id) {
    auto it = flows_.find(flow_id);
    if (it == flows_.end()) return;
    Flow& f = *it->second;
    auto p = ports_.find(f.port);
    if (p == ports_.end()) return;
    mmsghdr msgs[kUdpBatch] = {};
    iovec iov[kUdpBatch];
    for (unsigned i = 0; i < kUdpBatch; i++) {
        iov[i] = {buffers_.data() + i * kUdpDatagramMax, kUdpDatagramMax};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(f.fd.get(), msgs, kUdpBatch, MSG_DONTWAIT, nullptr);
    // Includes ECONNREFUSED: the guest port is closed for now (only a
    // connected socket hears of it).
    if (n <= 0) return;
    for (int i = 0; i < n; i++) {
        iov[i].iov_len = msgs[i].msg_len;
        msgs[i].msg_hdr.msg_name = &f.peer;
        msgs[i].msg_hdr.msg_namelen = f.peer_len;
    }
    f.last_active_ms = loop_.clock_ms();
    sendmmsg(p->second.fd.get(), msgs, static_cast<unsigned>(n), MSG_DONTWAIT);
}

void UdpFlows::close_flow(uint64_t flow_id) {
    auto it = flows_.find(flow_id);
    if (it == flows_.end()) return;
    Flow& f = *it->second;
    if (f.fd) loop_.unwatch(f.fd.get());
    if (f.diverted) opener_.release_udp_flow(f.local, f.guest_port);
    flow_by_peer_.erase(
        std::make_pair(f.port, std::string(reinterpret_cast<const char*>(&f.peer), f.peer_len)));
    flows_.erase(it);
}

void UdpFlows::arm_idle_timer() {
    if (idle_timer_ || flows_.empty()) return;
    int64_t oldest = loop_.clock_ms();
    for (const auto& [id, f] : flows_) oldest = std::min(oldest, f->last_active_ms);
    idle_timer_ = loop_.add_timer(oldest + idle_ms_, [this] {
        idle_timer_ = 0;
        expire_idle_flows();
    });
}

void UdpFlows::expire_idle_flows() {
    int64_t now = loop_.clock_ms();
    std::vector<uint64_t> idle;
    for (const auto& [id, f] : flows_)
        if (now - f->last_active_ms >= idle_ms_) idle.push_back(id);
    for (uint64_t id : idle) close_flow(id);
    arm_idle_timer();
}
