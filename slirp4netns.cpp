// slirp4netns.cpp owns the daemon: start-up order (tap, API, sandbox,
// seccomp, ready-fd), the libslirp glue (callbacks, timers, poll integration)
// and the packet path between the frame device (tap or BESS) and libslirp.
#include <arpa/inet.h>
#include <fcntl.h>
#include <libslirp.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api.hpp"
#include "bess.hpp"
#include "event_loop.hpp"
#include "ipv4_reassembly.hpp"
#include "memory_return.hpp"
#include "netns_helper.hpp"
#include "network.hpp"
#include "options.hpp"
#include "outbound.hpp"
#include "sandbox.hpp"
#include "seccomp.hpp"
#include "splice_forward.hpp"
#include "stats.hpp"
#include "tap.hpp"
#include "unique_fd.hpp"
#include "vnet.hpp"

#ifndef SLIRP4NETNS_VERSION
#define SLIRP4NETNS_VERSION "unknown"
#endif
#ifndef SLIRP4NETNS_COMMIT
#define SLIRP4NETNS_COMMIT "unknown"
#endif

namespace {

// Frames read from the device per wakeup before libslirp's sockets get a turn:
// large enough to amortize poll(), small enough that sockets are not starved.
constexpr int kFramesPerWakeup = 64;
// A frame from the guest above this carries bulk data (see
// SlirpStack::expects_prompt_events).
constexpr size_t kLargestInteractiveFrame = 1024;
// How often the daemon looks whether traffic has stopped (to return memory).
constexpr int64_t kIdleCheckMs = 5000;
// A frame never exceeds MTU + Ethernet header (libslirp's maximum MTU is
// 65521, a TSO segment 64 KiB), plus the virtio-net header.
constexpr size_t kFrameBufferSize = 65536 + 64 + sizeof(VnetHeader);

// Errors quote what they were given (paths, option words), which may hold
// newlines or escapes: each error stays one printable line.
void log_error(const std::string& line) {
    std::string shown;
    for (unsigned char c : line) {
        if (c >= 0x20 && c != 0x7f) {
            shown.push_back(static_cast<char>(c));
            continue;
        }
        char escaped[5];
        std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
        shown += escaped;
    }
    std::fprintf(stderr, "slirp4netns: %s\n", shown.c_str());
}

struct SlirpTimer {
    SlirpTimerId id;
    void* cb_opaque;
    int64_t expire_ms = -1;  // -1: not armed
};

// Drives one libslirp instance from the EventLoop: libslirp's sockets are a
// CycleSource, the frame device is a fixed watch.
class SlirpStack : public EventLoop::CycleSource {
   public:
    SlirpStack(EventLoop& loop, Stats& stats) : loop_(loop), stats_(stats) {}
    ~SlirpStack() override {
        if (slirp_) slirp_cleanup(slirp_);
    }

    bool start(const SlirpConfig& config) {
        callbacks_.send_packet = &SlirpStack::send_packet;
        callbacks_.guest_error = &SlirpStack::guest_error;
        callbacks_.clock_get_ns = &SlirpStack::clock_get_ns;
        callbacks_.timer_free = &SlirpStack::timer_free;
        callbacks_.timer_mod = &SlirpStack::timer_mod;
        callbacks_.register_poll_fd = [](int, void*) {};
        callbacks_.unregister_poll_fd = [](int, void*) {};
        callbacks_.notify = [](void*) {};
        callbacks_.timer_new_opaque = &SlirpStack::timer_new_opaque;
        slirp_ = slirp_new(&config, &callbacks_, this);
        return slirp_ != nullptr;
    }

    Slirp* slirp() const { return slirp_; }

    // Fragments of a datagram whose rest never came hold memory until then.
    void discard_expired_fragments() { reassembly_.discard_expired(EventLoop::now_ms()); }

    // Before start(): when the tap carries virtio-net headers (tap.cpp asks
    // for IFF_VNET_HDR), let the kernel segment and checksum for us, and
    // let libslirp build segments as large as the tap then accepts.
    void use_offloads(int tap, SlirpConfig& config) {
        ifreq ifr{};
        if (ioctl(tap, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_VNET_HDR)) return;
        int size = sizeof(VnetHeader);
        if (ioctl(tap, TUNSETVNETHDRSZ, &size) < 0) return;
        vnet_ = true;
        // At the largest MTU every segment already fits a frame: offloads
        // would only move checksumming from the guest's kernel (fused with
        // its copy) into this process.
        if (config.if_mtu >= kVnetSlirpMtu) return;
        if (ioctl(tap, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) return;
        tap_mtu_ = static_cast<unsigned>(config.if_mtu);
        config.if_mtu = kVnetSlirpMtu;
        config.if_mru = kVnetSlirpMtu;
    }

    // The device carrying the guest's frames: a tap fd or a BESS connection.
    void attach_device(UniqueFd device, std::string name, bool is_tap = true) {
        device_is_tap_ = is_tap;
        device_ = std::move(device);
        device_name_ = std::move(name);
        loop_.watch(device_.get(), POLLIN, [this](short revents) { on_device_ready(revents); });
    }

    [[gnu::hot]] int fill(std::vector<pollfd>& fds) override {
        last_cycle_active_ = cycle_active_;
        cycle_active_ = false;
        fds_ = &fds;
        uint32_t timeout = UINT32_MAX;
        slirp_pollfds_fill(slirp_, &timeout, &SlirpStack::add_poll, this);
        int64_t wait = timeout == UINT32_MAX ? -1 : static_cast<int64_t>(timeout);
        int64_t now = EventLoop::now_ms();
        for (const auto& t : timers_) {
            if (t->expire_ms < 0) continue;
            int64_t until = t->expire_ms > now ? t->expire_ms - now : 0;
            if (wait < 0 || until < wait) wait = until;
        }
        return static_cast<int>(wait);
    }

    // Worth a short spin after a cycle that carried libslirp traffic with
    // small frames from the guest: requests, ACKs of data we send, or
    // handshakes. Spinning while the guest sends bulk data would only hold
    // the CPU its sender wants (the scheduler wakes it where our tap writes
    // ran): netns->host fell from 7 to 1.3 Gbit/s. Cycles with only splice
    // forwarding or API events do not spin either: those are bulk or rare.
    bool expects_prompt_events() const override { return last_cycle_active_ && !bulk_from_guest_; }

    [[gnu::hot]] void dispatch(const std::vector<pollfd>& fds, bool poll_failed) override {
        fds_ = const_cast<std::vector<pollfd>*>(&fds);
        slirp_pollfds_poll(slirp_, poll_failed ? 1 : 0, &SlirpStack::get_revents, this);
        run_due_timers();
    }

   private:
    [[gnu::hot]] void on_device_ready(short) {
        // The held ACKs, once written, make the guest's kernel queue its next
        // segments at once (in this very write): read those in the same
        // wakeup rather than going through poll() again, which costs O(all
        // libslirp sockets) per cycle.
        int budget = kFramesPerWakeup;
        bulk_from_guest_ = false;
        while (budget > 0 && !loop_.stopping()) {
            batching_ = true;
            int got = drain_device(budget);
            batching_ = false;
            bool held = held_count_ > 0;
            flush_acks();
            budget -= got;
            if (!held || got == 0) break;
        }
    }

    // Reads up to `budget` frames; returns how many were read.
    [[gnu::hot]] int drain_device(int budget) {
        size_t skip = vnet_ && device_is_tap_ ? sizeof(VnetHeader) : 0;
        for (int i = 0; i < budget; i++) {
            ssize_t n = read(device_.get(), buffer_.get(), kFrameBufferSize);
            if (n > static_cast<ssize_t>(skip)) {
                uint8_t* frame = buffer_.get() + skip;
                size_t len = static_cast<size_t>(n) - skip;
                stats_.frames_from_guest++;
                stats_.bytes_from_guest += len;
                cycle_active_ = true;
                if (len > kLargestInteractiveFrame) bulk_from_guest_ = true;
                if (skip && !prepare_offloaded_frame(frame, len)) continue;
                reassembly_.pass(frame, len, EventLoop::now_ms, [this](const uint8_t* p, size_t n) {
                    slirp_input(slirp_, p, static_cast<int>(n));
                });
                continue;
            }
            if (n > 0) continue;  // a bare virtio-net header
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) return i;
            device_gone(n == 0 ? "closed" : std::strerror(errno));
            return i;
        }
        return budget;
    }

    // A frame the kernel did not finish: complete its checksum (libslirp
    // checks every one) and raise a SYN's MSS so libslirp may send large
    // segments, which send_packet hands back for the kernel to cut.
    [[gnu::hot]] bool prepare_offloaded_frame(uint8_t* frame, size_t len) {
        VnetHeader hdr;
        std::memcpy(&hdr, buffer_.get(), sizeof hdr);
        if ((hdr.flags & kVnetNeedsCsum) &&
            !vnet_complete_checksum(frame, len, hdr.csum_start, hdr.csum_offset))
            return false;
        if (tap_mtu_) vnet_raise_syn_mss(frame, len, tap_mtu_);
        return true;
    }

    void device_gone(const std::string& why) {
        log_error(device_name_ + " is gone (" + why +
                  "); the network namespace or the client has probably exited");
        loop_.unwatch(device_.get());
        loop_.stop(1);
    }

    [[gnu::hot]] void run_due_timers() {
        int64_t now = EventLoop::now_ms();
        for (size_t i = 0; i < timers_.size(); i++) {
            SlirpTimer& t = *timers_[i];
            if (t.expire_ms < 0 || t.expire_ms > now) continue;
            t.expire_ms = -1;
            slirp_handle_timer(slirp_, t.id, t.cb_opaque);
        }
    }

    static SlirpStack& self(void* opaque) { return *static_cast<SlirpStack*>(opaque); }

    [[gnu::hot]] static ssize_t send_packet(const void* buf, size_t len, void* opaque) {
        SlirpStack& s = self(opaque);
        const auto* frame = static_cast<const uint8_t*>(buf);
        if (s.batching_ && s.hold_ack(frame, len)) return static_cast<ssize_t>(len);
        s.flush_acks();  // frames keep their order
        return s.emit(frame, len);
    }

    // While a batch from the guest is processed, a pure ACK waits (see
    // vnet.hpp): a later one for the same flow replaces it; anything else,
    // or the batch's end, sends it. Returns false if the frame must go now.
    [[gnu::hot]] bool hold_ack(const uint8_t* frame, size_t len) {
        VnetAck ack;
        if (len > kHeldAckSize || !vnet_pure_ack(frame, len, &ack)) return false;
        for (size_t i = 0; i < held_count_; i++) {
            HeldAck& h = held_[i];
            if (std::memcmp(h.ack.flow, ack.flow, sizeof ack.flow) != 0) continue;
            if (!vnet_ack_supersedes(h.ack, ack)) emit(h.frame, h.len);  // a duplicate ACK stays
            h.ack = ack;
            std::memcpy(h.frame, frame, len);
            h.len = len;
            return true;
        }
        if (held_count_ == kHeldAcks) return false;
        held_[held_count_++] = {ack, {}, len};
        std::memcpy(held_[held_count_ - 1].frame, frame, len);
        return true;
    }

    [[gnu::hot]] void flush_acks() {
        size_t count = held_count_;
        held_count_ = 0;
        for (size_t i = 0; i < count; i++) emit(held_[i].frame, held_[i].len);
    }

    [[gnu::hot]] ssize_t emit(const uint8_t* frame, size_t len) {
        ssize_t n =
            vnet_ && device_is_tap_ ? write_vnet(frame, len) : write(device_.get(), frame, len);
        if (n < 0) {
            // A full device queue only costs a retransmission; libslirp is told
            // the frame went, as its API asks.
            stats_.frames_dropped++;
            return static_cast<ssize_t>(len);
        }
        stats_.frames_to_guest++;
        stats_.bytes_to_guest += len;
        return n;
    }

    // One frame to a virtio-net tap: a header, then the frame; a TCP segment
    // above the tap's MTU goes whole with a GSO header, and any TCP frame
    // with its checksum field turned back into the partial form (the kernel
    // completes it per segment, or trusts it on local delivery).
    [[gnu::hot]] ssize_t write_vnet(const uint8_t* frame, size_t len) {
        VnetOutput out = vnet_classify_output(frame, len, tap_mtu_);
        if (out.kind == VnetOutput::Fragment) {
            ssize_t result = static_cast<ssize_t>(len);
            bool split = vnet_fragment_ipv4(frame, len, tap_mtu_, [&](const uint8_t* p, size_t n) {
                if (write_vnet_parts(VnetOutput{}, p, n) < 0) result = -1;
            });
            return split ? result : static_cast<ssize_t>(len);  // DF set: too big to deliver
        }
        return write_vnet_parts(out, frame, len);
    }

    [[gnu::hot]] ssize_t write_vnet_parts(const VnetOutput& out, const uint8_t* frame, size_t len) {
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

    static void guest_error(const char* msg, void*) {
        log_error(std::string("guest error: ") + msg);
    }

    [[gnu::hot]] static int64_t clock_get_ns(void*) {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
    }

    static void* timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) {
        auto timer = std::make_unique<SlirpTimer>(SlirpTimer{id, cb_opaque});
        SlirpTimer* raw = timer.get();
        self(opaque).timers_.push_back(std::move(timer));
        return raw;
    }

    static void timer_free(void* timer, void* opaque) {
        std::erase_if(self(opaque).timers_, [timer](const auto& t) { return t.get() == timer; });
    }

    [[gnu::hot]] static void timer_mod(void* timer, int64_t expire_ms, void*) {
        static_cast<SlirpTimer*>(timer)->expire_ms = expire_ms;
    }

    [[gnu::hot]] static int add_poll(int fd, int events, void* opaque) {
        short mask = 0;
        if (events & SLIRP_POLL_IN) mask |= POLLIN;
        if (events & SLIRP_POLL_OUT) mask |= POLLOUT;
        if (events & SLIRP_POLL_PRI) mask |= POLLPRI;
        if (events & SLIRP_POLL_ERR) mask |= POLLERR;
        if (events & SLIRP_POLL_HUP) mask |= POLLHUP;
        auto& fds = *self(opaque).fds_;
        fds.push_back({fd, mask, 0});
        return static_cast<int>(fds.size() - 1);
    }

    [[gnu::hot]] static int get_revents(int idx, void* opaque) {
        const auto& fds = *self(opaque).fds_;
        if (idx < 0 || static_cast<size_t>(idx) >= fds.size()) return 0;
        short r = fds[static_cast<size_t>(idx)].revents;
        int events = 0;
        if (r & POLLIN) events |= SLIRP_POLL_IN;
        if (r & POLLOUT) events |= SLIRP_POLL_OUT;
        if (r & POLLPRI) events |= SLIRP_POLL_PRI;
        if (r & POLLERR) events |= SLIRP_POLL_ERR;
        if (r & POLLHUP) events |= SLIRP_POLL_HUP;
        if (events) self(opaque).cycle_active_ = true;
        return events;
    }

    EventLoop& loop_;
    Stats& stats_;
    Ipv4Reassembly reassembly_;
    SlirpCb callbacks_{};
    Slirp* slirp_ = nullptr;
    UniqueFd device_;
    std::string device_name_;
    std::vector<std::unique_ptr<SlirpTimer>> timers_;
    std::vector<pollfd>* fds_ = nullptr;
    // Left uninitialized: an idle daemon never touches most of its pages.
    std::unique_ptr<uint8_t[]> buffer_ =
        std::make_unique_for_overwrite<uint8_t[]>(kFrameBufferSize);
    // Pure ACKs held back during a batch: one per flow, a few flows.
    static constexpr size_t kHeldAcks = 8;
    static constexpr size_t kHeldAckSize = 14 + 40 + 60;
    struct HeldAck {
        VnetAck ack;
        uint8_t frame[kHeldAckSize];
        size_t len;
    };
    HeldAck held_[kHeldAcks];
    size_t held_count_ = 0;
    bool bulk_from_guest_ = false;    // the last batch from the guest had a large frame
    bool cycle_active_ = false;       // a frame or a libslirp socket event in this cycle
    bool last_cycle_active_ = false;  // ... in the cycle before
    bool batching_ = false;
    bool vnet_ = false;          // the tap prefixes frames with virtio_net_hdr
    bool device_is_tap_ = true;  // BESS clients never carry the header
    unsigned tap_mtu_ = 0;       // set when the kernel segments for us
};

// What libslirp is configured with; owns the storage its pointers refer to.
struct StackConfig {
    SlirpConfig config{};
    std::optional<sockaddr_in> outbound4;
    std::optional<sockaddr_in6> outbound6;
};

bool build_stack_config(const Options& o, StackConfig& out, std::string* error) {
    if (!o.outbound_addr.empty()) {
        out.outbound4 = resolve_outbound4(o.outbound_addr, error);
        if (!out.outbound4) return false;
    }
    if (!o.outbound_addr6.empty()) {
        out.outbound6 = resolve_outbound6(o.outbound_addr6, error);
        if (!out.outbound6) return false;
    }
    Network6 net6 = default_network6();
    SlirpConfig& c = out.config;
    c.version = SLIRP_CONFIG_VERSION_MAX;
    c.restricted = 0;
    c.in_enabled = true;
    c.vnetwork = o.network.address;
    c.vnetmask = o.network.netmask;
    c.vhost = o.network.gateway;
    c.in6_enabled = o.enable_ipv6;
    c.vprefix_addr6 = net6.prefix;
    c.vprefix_len = static_cast<uint8_t>(net6.prefix_len);
    c.vhost6 = net6.gateway;
    c.vdhcp_start = o.network.dhcp_start;
    c.vnameserver = o.network.dns;
    c.vnameserver6 = net6.dns;
    c.if_mtu = o.mtu;
    c.if_mru = o.mtu;
    c.disable_host_loopback = o.disable_host_loopback;
    c.enable_emu = false;
    c.outbound_addr = out.outbound4 ? &*out.outbound4 : nullptr;
    c.outbound_addr6 = out.outbound6 ? &*out.outbound6 : nullptr;
    c.disable_dns = o.disable_dns;
    return true;
}

void print_banner(const Options& o) {
    const Network& n = o.network;
    std::printf("Starting slirp\n");
    std::printf("* MTU:             %u\n", o.mtu);
    std::printf("* Network:         %s\n", ipv4_to_string(n.address).c_str());
    std::printf("* Netmask:         %s\n", ipv4_to_string(n.netmask).c_str());
    std::printf("* Gateway:         %s\n", ipv4_to_string(n.gateway).c_str());
    std::printf("* DNS:             %s\n", ipv4_to_string(n.dns).c_str());
    std::printf("* DHCP begin:      %s\n", ipv4_to_string(n.dhcp_start).c_str());
    std::printf("* Recommended IP:  %s\n", ipv4_to_string(n.guest).c_str());
    if (o.enable_ipv6) {
        Network6 n6 = default_network6();
        std::printf("* IPv6 prefix:     %s/%u\n", ipv6_to_string(n6.prefix).c_str(), n6.prefix_len);
        std::printf("* IPv6 gateway:    %s\n", ipv6_to_string(n6.gateway).c_str());
        std::printf("* IPv6 DNS:        %s\n", ipv6_to_string(n6.dns).c_str());
    }
    if (!o.api_socket.empty()) std::printf("* API Socket:      %s\n", o.api_socket.c_str());
    std::fflush(stdout);
}

void print_version() {
    std::printf("slirp4netns version %s\n", SLIRP4NETNS_VERSION);
    std::printf("commit: %s\n", SLIRP4NETNS_COMMIT);
    std::printf("libslirp: %s\n", slirp_version_string());
    std::printf("SLIRP_CONFIG_VERSION_MAX: %d\n", SLIRP_CONFIG_VERSION_MAX);
    const scmp_version* v = seccomp_version();
    std::printf("libseccomp: %u.%u.%u\n", v->major, v->minor, v->micro);
}

// SIGTERM, SIGINT and SIGHUP end the loop cleanly so that destructors run
// (the API socket file is removed). They arrive through a signalfd.
UniqueFd block_termination_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    return UniqueFd(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
}

bool write_ready(int fd) {
    ssize_t n;
    do {
        n = write(fd, "1", 1);
    } while (n < 0 && errno == EINTR);
    close(fd);
    return n == 1;
}

class Daemon {
   public:
    explicit Daemon(const Options& options) : options_(options), stack_(loop_, stats_) {}

    int run() {
        stats_.started_ms = EventLoop::now_ms();
        std::string error;
        if (!setup(&error)) {
            log_error(error);
            return 1;
        }
        release_startup_pages();
        return loop_.run();
    }

   private:
    bool setup(std::string* error) {
        // An fd that is not open would make exit-fd fire at once (POLLNVAL)
        // or ready-fd fail only after the tap exists: refuse it up front.
        for (auto [fd, name] :
             {std::pair{options_.exit_fd, "exit-fd"}, {options_.ready_fd, "ready-fd"}}) {
            if (fd >= 0 && fcntl(fd, F_GETFD) < 0) {
                *error = std::string(name) + " " + std::to_string(fd) + " is not open";
                return false;
            }
        }
        StackConfig config;
        if (!build_stack_config(options_, config, error)) return false;
        UniqueFd device;
        if (options_.target_type == TargetType::Netns) {
            TapResult tap = open_tap(options_);
            if (!tap.fd) {
                *error = tap.error;
                return false;
            }
            device = std::move(tap.fd);
            target_process_ = std::move(tap.target_process);
        } else {
            bess_ = BessListener::listen(options_.target, error);
            if (!bess_) return false;
        }
        if (device) stack_.use_offloads(device.get(), config.config);
        if (!stack_.start(config.config)) {
            *error = "libslirp refused the configuration (slirp_new failed)";
            return false;
        }
        print_banner(options_);
        if (device) stack_.attach_device(std::move(device), options_.tap_name);
        if (bess_) loop_.watch(bess_->fd(), POLLIN, [this](short) { accept_bess_client(); });
        loop_.set_cycle_source(&stack_);
        loop_.set_busy_poll(options_.busy_poll_us);
        watch_exit_conditions();
        schedule_memory_return();
        if (!options_.api_socket.empty()) {
            if (!start_splice_forwarding(error)) return false;
            api_ =
                ApiServer::start({stack_.slirp(), options_, stats_, loop_, splice_.get()}, error);
            if (!api_) return false;
        }
        return restrict_self(error) && signal_ready(error);
    }

    // Splice-mode forwards need a helper inside the namespace, forked now:
    // once the daemon is sandboxed it can neither fork nor join namespaces.
    bool start_splice_forwarding(std::string* error) {
        if (options_.target_type != TargetType::Netns || options_.netns_type == NetnsType::TapFd)
            return true;
        fwd_helper_ = NetnsHelper::start(options_, error);
        if (!fwd_helper_) return false;
        splice_ = std::make_unique<SpliceForwarder>(loop_, *fwd_helper_);
        if (fwd_helper_->transparent()) {
            splice_->show_clients(options_.network.gateway, default_network6().gateway);
        } else if (options_.port_forward_mode == PortForwardMode::Auto) {
            log_error("splice forwards cannot show clients' addresses (" +
                      fwd_helper_->transparent_error() +
                      "): port forwards that remote clients reach use slirp mode");
        }
        return true;
    }

    bool restrict_self(std::string* error) {
        if (options_.enable_sandbox) {
            *error = enter_sandbox(options_);
            if (!error->empty()) return false;
        }
        if (options_.enable_seccomp) {
            *error = install_seccomp_filter();
            if (!error->empty()) return false;
        }
        return true;
    }

    bool signal_ready(std::string* error) {
        if (options_.ready_fd < 0) return true;
        if (write_ready(options_.ready_fd)) return true;
        *error = "cannot write to ready-fd " + std::to_string(options_.ready_fd) + ": " +
                 std::strerror(errno);
        return false;
    }

    void watch_exit_conditions() {
        signals_ = block_termination_signals();
        loop_.watch(signals_.get(), POLLIN, [this](short) {
            signalfd_siginfo info{};
            if (read(signals_.get(), &info, sizeof info) > 0)
                std::fprintf(stderr, "slirp4netns: exiting on signal %u\n", info.ssi_signo);
            loop_.stop(0);
        });
        if (options_.exit_fd >= 0) {
            // Any event on the exit fd, data or hang-up, is the request to exit.
            loop_.watch(options_.exit_fd, POLLIN, [this](short) { loop_.stop(0); });
        }
        if (target_process_) {
            loop_.watch(target_process_.get(), POLLIN, [this](short) {
                log_error("target process " + std::to_string(options_.target_pid) +
                          " exited; its network namespace is going away");
                loop_.unwatch(target_process_.get());
                loop_.stop(1);
            });
        }
    }

    // Under load libslirp's buffers take hundreds of MB, and glibc keeps what
    // they freed: once traffic has stopped for a while, hand it back, so a
    // helper that podman leaves running for weeks does not keep its peak.
    void schedule_memory_return() {
        loop_.add_timer(EventLoop::now_ms() + kIdleCheckMs, [this] {
            stack_.discard_expired_fragments();
            uint64_t frames = stats_.frames_from_guest + stats_.frames_to_guest;
            if (frames == frames_at_last_check_ && frames != frames_at_last_trim_) {
                release_free_heap();
                frames_at_last_trim_ = frames;
            }
            frames_at_last_check_ = frames;
            schedule_memory_return();
        });
    }

    void accept_bess_client() {
        UniqueFd client = bess_->accept_client();
        if (!client) return;
        // One client per instance, as with a tap: stop listening once it is
        // here (destroying the listener removes the socket file, sandbox or not).
        loop_.unwatch(bess_->fd());
        bess_.reset();
        stack_.attach_device(std::move(client), "BESS client", false);
    }

    const Options& options_;
    EventLoop loop_;
    Stats stats_;
    SlirpStack stack_;
    UniqueFd signals_;
    std::unique_ptr<BessListener> bess_;
    UniqueFd target_process_;
    std::unique_ptr<NetnsHelper> fwd_helper_;
    std::unique_ptr<SpliceForwarder> splice_;
    std::unique_ptr<ApiServer> api_;
    uint64_t frames_at_last_check_ = 0;
    uint64_t frames_at_last_trim_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    ParseResult parsed = parse_options(args);
    if (!parsed.ok()) {
        log_error(parsed.error);
        return 1;
    }
    const Options& options = parsed.options;
    if (options.action == Action::Help) {
        std::fputs(help_text(argv[0]).c_str(), stdout);
        return 0;
    }
    if (options.action == Action::Version) {
        print_version();
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    Daemon daemon(options);
    return daemon.run();
}
