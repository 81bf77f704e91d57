// SPDX-License-Identifier: GPL-2.0-or-later
// packet_path.hpp owns the path of a frame between the device (the tap, or
// a BESS client) and libslirp:
//   guest -> host: device read -> from_guest(): --pcap copy
//     (packet_capture.hpp) -> virtio-net completion (when the tap segments
//     for us; a UDP GSO frame goes whole to the kernel UDP path, or is cut
//     into datagrams that each take the rest of the way) -> IPv4 reassembly -> the DNS forwarder's
//     queries (dns_forwarder.hpp) -> the kernel UDP path (kernel_udp.hpp; a datagram the guest left
//     unsummed goes to it before the completion)
//     -> fences (urgent_data_fence.hpp)
//     -> libslirp;
//   host -> guest: libslirp, the DNS forwarder and the kernel UDP path ->
//     send_to_guest(), the
//     kernel TCP path -> send_with_header() (GuestOutput): ACK holding
//     during a batch (ack_holding.hpp) -> device write (with a virtio-net
//     header, GSO or IPv4 fragmentation on a segmenting tap; see vnet.hpp)
//     -> --pcap copy of what was written; the kernel UDP path's runs of
//     replies -> send_segments(): one UDP GSO frame, captured datagram by
//     datagram.
// from_guest() is the one place a guest frame passes on its way in; with
// the kernel TCP path on, it offers every frame to that path first
// (kernel_tcp.hpp), and tells it when a batch is over (a small request to
// it ends the batch early): what the path wrote to its private kernel is
// relayed then, and the answers come back through the output above, after
// the ACKs the batch held; then the device is read on.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "ack_holding.hpp"
#include "event_loop.hpp"
#include "ipv4_reassembly.hpp"
#include "sanitizers.hpp"
#include "slirp_stack.hpp"
#include "tap.hpp"
#include "unique_fd.hpp"
#include "vnet.hpp"

class DnsForwarder;
class KernelTcpPath;
class KernelUdpPath;
class PacketCapture;
struct Stats;

class PacketPath : public GuestOutput {
   public:
    PacketPath(EventLoop& loop, Stats& stats) : loop_(loop), stats_(stats), stack_(loop, *this) {}

    // Before attach_device: what enable_tap_offloads gave (a tap only).
    void use_tap_offloads(const TapOffloads& offloads) { offloads_ = offloads; }
    bool start(const SlirpConfig& config, std::string* err) { return stack_.start(config, err); }
    SlirpStack& stack() { return stack_; }

    // The device carrying the guest's frames: a tap fd (with the offloads
    // given) or a BESS connection (plain frames, one per message).
    enum class Device { Tap, Bess };
    bool attach_device(UniqueFd device, std::string name, Device kind, std::string* err);

    // One frame from the guest, as the device delivered it past any
    // virtio-net header (`vnet` then points at that header, else null).
    void from_guest(uint8_t* frame, size_t len, const VnetHeader* vnet);
    // A frame from the guest that the kernel TCP path held and gave back
    // (counted when it arrived): on to libslirp, as from_guest would.
    void give_back_from_guest(const VnetHeader& header, uint8_t* frame, size_t len);
    // GuestOutput: a frame libslirp sends; one from the kernel TCP path.
    void send_to_guest(const uint8_t* frame, size_t len) override;
    void send_with_header(const VnetHeader& header, const uint8_t* frame, size_t len) override;
    bool send_segments(const VnetHeader& header, const uint8_t* headers, size_t header_len,
                       const iovec* segments, size_t count) override;

    // Whether frames to the guest may be TSO segments with partial checksums.
    bool device_takes_offloads() const { return vnet_framing(); }
    // Whether IPv4 frames above the guest's MTU are fragmented on the way out.
    bool fragments_ipv4() const { return vnet_framing() && offloads_.segment_mtu; }
    void set_kernel_tcp(KernelTcpPath* path) { kernel_tcp_ = path; }
    // NDP to the guest names this MAC for every address of the virtual
    // network (tcp_classifier.hpp's rewrite_ndp_mac).
    void announce_one_mac(const std::array<uint8_t, 6>& mac) { ndp_mac_ = mac; }
    // --pcap: gets every frame as read from the device, and as written to it.
    void set_capture(PacketCapture* capture) { capture_ = capture; }
    // Whole guest frames are offered to the DNS forwarder before libslirp.
    void set_dns_forwarder(DnsForwarder* dns) { dns_ = dns; }
    // ... and then to the kernel UDP path, before libslirp.
    void set_kernel_udp(KernelUdpPath* udp) { kernel_udp_ = udp; }

    // Fragments of a datagram whose rest never came hold memory until then.
    void discard_expired_fragments() { reassembly_.discard_expired(loop_.clock_ms()); }

   private:
    void on_device_ready();
    int drain_device(int budget);
    void route_from_guest(uint8_t* frame, size_t len, const VnetHeader* vnet);
    void udp_segments_from_guest(uint8_t* frame, size_t len, uint16_t gso_size);
    void capture(const uint8_t* frame, size_t len, const VnetHeader* vnet);
    void to_slirp(uint8_t* frame, size_t len, const TcpView& tcp);
    void device_gone(const std::string& why);
    bool vnet_framing() const { return offloads_.vnet_header && kind_ == Device::Tap; }
    ssize_t emit(const uint8_t* frame, size_t len, const VnetHeader* header = nullptr);
    ssize_t write_vnet(const uint8_t* frame, size_t len);
    ssize_t write_vnet_parts(const VnetOutput& out, const uint8_t* frame, size_t len);

    EventLoop& loop_;
    Stats& stats_;
    SlirpStack stack_;
    Ipv4Reassembly reassembly_;
    AckHolder acks_;
    UniqueFd device_;
    std::string device_name_;
    Device kind_ = Device::Tap;
    TapOffloads offloads_;
    KernelTcpPath* kernel_tcp_ = nullptr;
    std::optional<std::array<uint8_t, 6>> ndp_mac_;
    PacketCapture* capture_ = nullptr;
    DnsForwarder* dns_ = nullptr;
    KernelUdpPath* kernel_udp_ = nullptr;
    bool in_batch_ = false;          // reading a batch of frames from the guest: ACKs wait
    bool segments_refused_ = false;  // the tap's kernel refused a GSO frame of send_segments
    std::unique_ptr<uint8_t[]> buffer_;
    bool fence_urgent_data_ = !fence_switched_off_for_test("urgent-data");
};
