// SPDX-License-Identifier: GPL-2.0-or-later
// daemon.cpp: the daemon's start-up order and lifetime (see daemon.hpp).
#include "daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "api.hpp"
#include "bess.hpp"
#include "confine.hpp"
#include "dns_forwarder.hpp"
#include "error.hpp"
#include "event_loop.hpp"
#include "frame_ring.hpp"
#include "kernel_tcp.hpp"
#include "kernel_udp.hpp"
#include "memory_return.hpp"
#include "netns_helper.hpp"
#include "network.hpp"
#include "packet_capture.hpp"
#include "packet_path.hpp"
#include "private_netns.hpp"
#include "slirp_stack.hpp"
#include "splice_forward.hpp"
#include "stats.hpp"
#include "tap.hpp"
#include "unique_fd.hpp"

namespace {

// How often the daemon looks whether traffic has stopped (to return memory).
constexpr int64_t kIdleCheckMs = 5000;
// Fewer frames than this between two looks is quiet: an idle guest still
// sends the odd ARP request or router solicitation.
constexpr uint64_t kQuietFrames = 64;
// The guest's UDP comes by tc (frame_ring.hpp) once the kernel UDP path has
// taken this many datagrams from the tap, and goes back to the tap after
// this many housekeeping checks (a minute) in which none came that way.
constexpr uint64_t kRingAfterDatagrams = 256;
constexpr int kRingQuietChecks = 12;

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
        const Network6& n6 = o.network6;
        std::printf("* IPv6 prefix:     %s/%u\n", ipv6_to_string(n6.prefix).c_str(), n6.prefix_len);
        std::printf("* IPv6 gateway:    %s\n", ipv6_to_string(n6.gateway).c_str());
        std::printf("* IPv6 DNS:        %s\n", ipv6_to_string(n6.dns).c_str());
    }
    if (!o.api_socket.empty()) std::printf("* API Socket:      %s\n", o.api_socket.c_str());
    std::fflush(stdout);
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
    explicit Daemon(const Options& options) : options_(options), path_(loop_, stats_) {}

    int run() {
        stats_.started_ms = loop_.clock_ms();
        std::string error;
        if (!setup(&error)) {
            log_error(error);
            return 1;
        }
        release_read_only_pages();
        return loop_.run();
    }

   private:
    bool setup(std::string* error) {
        // An fd that is not open would make exit-fd fire at once (POLLNVAL)
        // or ready-fd fail only after the tap exists: refuse it up front.
        for (auto [fd, name] :
             {std::pair{options_.exit_fd, "exit-fd"}, {options_.ready_fd, "ready-fd"}}) {
            if (fd >= 0 && fcntl(fd, F_GETFD) < 0)
                return fail(error, std::string(name) + " " + std::to_string(fd) + " is not open");
        }
        SlirpSettings settings;
        if (!build_slirp_settings(options_, &settings, error)) return false;
        // Before the tap exists, so that a bad path leaves nothing behind, and
        // before confinement hides the file system.
        if (!options_.pcap_path.empty()) {
            if (!PacketCapture::open(options_.pcap_path, loop_, &capture_, error)) return false;
            path_.set_capture(capture_.get());
        }
        UniqueFd device;
        if (!open_device(&settings, &device, error)) return false;
        if (!path_.start(settings.config, error)) return false;
        if (!start_dns_forwarder(settings, error)) return false;
        print_banner(options_);
        if (device && !path_.attach_device(std::move(device), options_.tap_name,
                                           PacketPath::Device::Tap, error))
            return false;
        if (options_.tcp_path == TcpPath::Kernel) start_kernel_tcp(settings);
        if (options_.udp_path == UdpPath::Kernel) start_kernel_udp(settings);
        if (bess_ && !loop_.watch(
                         bess_->fd(), POLLIN, [this](short) { accept_bess_client(); }, error))
            return false;
        loop_.set_cycle_source(&path_.stack());
        loop_.set_busy_poll(options_.busy_poll_us);
        if (!watch_exit_conditions(error)) return false;
        schedule_housekeeping();
        if (!options_.api_socket.empty()) {
            if (!start_splice_forwarding(error)) return false;
            ApiContext context{path_.stack().slirp(), options_, stats_, loop_,
                               splice_.get(),         {},       {},     {}};
            if (kernel_tcp_)
                context.slirp_tcp_forward = [this](uint16_t guest_port, bool added) {
                    return !kernel_tcp_ || kernel_tcp_->slirp_forward(guest_port, added);
                };
            if (kernel_tcp_)
                context.slirp_tcp_forward_pending = [this](std::function<void()> ready) {
                    return kernel_tcp_ && kernel_tcp_->when_forwards_settled(std::move(ready));
                };
            if (kernel_udp_)
                context.slirp_udp_forward = [this](uint16_t guest_port, bool added) {
                    kernel_udp_->slirp_forward(guest_port, added);
                };
            if (!ApiServer::start(context, &api_, error)) return false;
        }
        SandboxRoot root = SandboxRoot::None;
        std::vector<std::string> notes;
        std::vector<SocketFile*> socket_files;
        if (api_) socket_files.push_back(&api_->socket_file());
        if (bess_) socket_files.push_back(&bess_->socket_file());
        if (!confine(options_, false, socket_files, &root, &notes, error)) return false;
        for (const std::string& note : notes) log_error(note);
        stats_.sandbox = sandbox_root_name(root);
        if (!signal_ready(error)) return false;
        if (pending_netns_) let_private_netns_begin(*pending_netns_);
        return true;
    }

    // The device: a tap made in the target's namespaces, with its offloads
    // (the MTU follows what they allow), or, for BESS, the listener whose
    // client becomes the device later. With the kernel TCP path, the TCP
    // namespace child starts here too: the tap child goes on as it.
    bool open_device(SlirpSettings* settings, UniqueFd* device, std::string* error) {
        const bool kernel_tcp = options_.tcp_path == TcpPath::Kernel;
        const PrivateNetnsSettings netns_settings = private_netns_settings();
        if (options_.target_type != TargetType::Netns) {
            if (kernel_tcp) start_private_netns_child(netns_settings);
            return BessListener::listen(options_.target, &bess_, error);
        }
        Tap tap;
        TapChildSequel sequel;
        sequel.body = [&netns_settings](int channel) {
            make_private_netns_here(netns_settings, channel);
        };
        if (!open_tap(options_, &tap, error, kernel_tcp ? &sequel : nullptr)) return false;
        if (sequel.child.pid() > 0) {
            pending_netns_ = std::make_unique<PendingPrivateNetns>();
            adopt_private_netns_child(netns_settings, std::move(sequel.channel),
                                      std::move(sequel.child), pending_netns_.get());
        } else if (kernel_tcp) {
            start_private_netns_child(netns_settings);
        }
        *device = std::move(tap.fd);
        target_process_ = std::move(tap.target_process);
        unsigned mtu = static_cast<unsigned>(settings->config.if_mtu);
        // Partial checksums at the largest MTU cost us summing only where
        // libslirp's TCP takes the guest's segments.
        bool full_mtu_udp_segments =
            options_.udp_path == UdpPath::Kernel && options_.tcp_path == TcpPath::Kernel;
        path_.use_tap_offloads(enable_tap_offloads(device->get(), &mtu, full_mtu_udp_segments));
        settings->config.if_mtu = static_cast<int>(mtu);
        settings->config.if_mru = static_cast<int>(mtu);
        return true;
    }

    PrivateNetnsSettings private_netns_settings() const {
        const Network& n = options_.network;
        PrivateNetnsSettings s;
        s.mtu = options_.mtu;
        s.mac = gateway_mac(n.gateway);
        s.gateway = n.gateway;
        s.prefix = n.prefix;
        s.ipv6 = options_.enable_ipv6;
        s.gateway6 = options_.network6.gateway;
        if (!options_.disable_dns) {
            s.dns = n.dns;
            s.dns6 = options_.network6.dns;
        }
        // Kernel to kernel needs the guest's tap in a namespace of its own;
        // a capture sees every segment only when the daemon bridges them.
        s.redirect = options_.target_type == TargetType::Netns &&
                     options_.netns_type != NetnsType::TapFd &&
                     (options_.tcp_delivery == TcpDelivery::Redirect ||
                      (options_.tcp_delivery == TcpDelivery::Auto && options_.pcap_path.empty()));
        s.tap = options_.tap_name;
        s.redirect_udp = s.redirect && options_.udp_path == UdpPath::Kernel &&
                         options_.udp_delivery == UdpDelivery::Auto;
        s.seccomp = options_.enable_seccomp;
        const Network6& n6 = options_.network6;
        s.scope = {
            n.address, n.netmask, n.gateway, !options_.disable_host_loopback, options_.enable_ipv6,
            n6.prefix, n6.gateway};
        return s;
    }

    // Our DNS forwarder takes the DNS address's queries from libslirp's;
    // with --tcp-path=slirp everything stays libslirp's, as in the original.
    bool start_dns_forwarder(const SlirpSettings& settings, std::string* error) {
        if (options_.disable_dns || options_.tcp_path != TcpPath::Kernel) return true;
        DnsForwarder::Settings d;
        d.addresses = {options_.network.dns, options_.enable_ipv6, options_.network6.dns};
        d.mac = gateway_mac(options_.network.gateway);
        d.mtu = static_cast<unsigned>(settings.config.if_mtu);
        auto to_guest = [this](const uint8_t* f, size_t n) { path_.send_to_guest(f, n); };
        if (!DnsForwarder::create(loop_, d, to_guest, stats_.dns, &dns_, error)) return false;
        path_.set_dns_forwarder(dns_.get());
        stats_.dns_forwarder = true;
        return true;
    }

    // Host sockets of its own: nothing to wait for, nothing to fall back from.
    void start_kernel_udp(const SlirpSettings& settings) {
        KernelUdpPath::Settings u;
        u.scope = kernel_path_scope(options_);
        u.outbound = settings.outbound;
        u.mtu = options_.mtu;
        u.fragments_ipv4 = path_.fragments_ipv4();
        u.partial_checksums = path_.device_takes_offloads();
        kernel_udp_ = std::make_unique<KernelUdpPath>(loop_, u, path_);
        path_.set_kernel_udp(kernel_udp_.get());
        stats_.kernel_udp = true;
        stats_.udp = &kernel_udp_->counters();
    }

    // With no tap child to make it (a tap FD, BESS), a child of its own; it
    // waits until the daemon is ready (private_netns.hpp). Without it
    // everything goes through libslirp, as with --tcp-path=slirp.
    void start_private_netns_child(const PrivateNetnsSettings& s) {
        std::string why;
        pending_netns_ = std::make_unique<PendingPrivateNetns>();
        if (!start_private_netns(options_, s, pending_netns_.get(), &why)) {
            pending_netns_.reset();
            kernel_tcp_unavailable(why);
        }
    }

    static void kernel_tcp_unavailable(const std::string& why) {
        log_error("kernel TCP path unavailable (" + why + "); TCP goes through libslirp");
    }

    // Before confinement, the path itself; its namespace when the child's
    // message comes, in the loop (so, often, after ready-fd).
    void start_kernel_tcp(const SlirpSettings& settings) {
        if (!pending_netns_) return;
        KernelTcpPath::Settings k;
        k.scope = kernel_path_scope(options_);
        k.outbound = settings.outbound;
        if (dns_) k.dns_stream = [this] { return dns_->open_stream(); };
        kernel_tcp_ = std::make_unique<KernelTcpPath>(loop_, k, path_);
        path_.set_kernel_tcp(kernel_tcp_.get());
        // From the guest's first NDP on: kernel to kernel, its IPv6 frames
        // must be addressed to the veth's MAC too.
        if (private_netns_settings().redirect)
            path_.announce_one_mac(gateway_mac(options_.network.gateway));
        stats_.kernel_tcp = true;
        stats_.refresh = [this](Stats& s) {
            s.kernel = kernel_tcp_->stats();
            if (udp_ring_) {
                s.udp_redirected_frames = udp_ring_->frames();
                s.udp_redirect_drops = udp_ring_->drops();
                s.udp_ring_lingers = udp_ring_->lingers();
            }
        };
        std::string why;
        if (!loop_.watch(
                pending_netns_->channel.get(), POLLIN, [this](short) { private_netns_ready(); },
                &why)) {
            kernel_tcp_unavailable(why);
            end_kernel_tcp();
            pending_netns_.reset();  // ends the child
        }
    }

    // Nothing was held yet, or every held SYN went back to libslirp.
    void end_kernel_tcp() {
        path_.set_kernel_tcp(nullptr);
        kernel_tcp_.reset();
        stats_.kernel_tcp = false;
        stats_.refresh = nullptr;
    }

    void private_netns_ready() {
        int channel = pending_netns_->channel.get();
        loop_.unwatch(channel);
        PrivateNetns netns;
        std::string why;
        bool made =
            finish_private_netns(*pending_netns_, path_.device_takes_offloads(), &netns, &why);
        if (made && !netns.redirect && options_.tcp_delivery == TcpDelivery::Redirect) {
            made = false;
            why = "no kernel-to-kernel delivery: " +
                  (netns.why_not.empty() ? std::string("the guest's tap is not in a namespace")
                                         : netns.why_not);
        } else if (made && !netns.redirect && !netns.why_not.empty()) {
            log_error("kernel-to-kernel TCP delivery unavailable (" + netns.why_not +
                      "); the daemon bridges the kernel TCP path's frames");
        }
        bool keeper = made && netns.redirect;
        UniqueFd udp_frames = std::move(netns.udp_frames);
        if (!made || !kernel_tcp_->attach(std::move(netns), &why)) {
            kernel_tcp_unavailable(why);
            path_.set_kernel_tcp(nullptr);
            kernel_tcp_->give_up([this](const VnetHeader& h, uint8_t* f, size_t len) {
                path_.give_back_from_guest(h, f, len);
            });
            end_kernel_tcp();
        }
        // With kernel-to-kernel delivery the child stays, as the path's
        // keeper (or, the path given up, ended with it): start-up is over.
        if (keeper) {
            if (udp_frames && kernel_tcp_) start_udp_ring(std::move(udp_frames));
            pending_netns_.reset();
            release_read_only_pages();
            return;
        }
        // The child exits once its message is sent; its end of the channel
        // closes as it does, and then waiting for it is brief. Ours closes
        // first: once the child is reaped, start-up holds no descriptor.
        // Unwatchable, it is waited for now: it has already sent all it will.
        if (!loop_.watch(
                channel, POLLIN, [this](short) { private_netns_child_done(); }, nullptr))
            private_netns_child_done();
    }

    // The guest's UDP by tc to the UDP veth's ring (frame_ring.hpp). The
    // ring's memory counts from the moment it is mapped, so it is mapped
    // only once the guest sends UDP in earnest, and given up after a quiet
    // while; its filters go in once it is read, and out before it goes.
    void start_udp_ring(UniqueFd socket) {
        if (!kernel_tcp_->keeper() || !kernel_udp_) return;
        udp_ring_ = std::make_unique<FrameRing>(
            loop_, std::move(socket),
            [this](uint8_t* f, size_t n, const VnetHeader& h) { path_.from_guest(f, n, &h); },
            [this] { kernel_udp_->send_gathered(); });
        stats_.udp_redirect = true;
        arm_udp_ring();
    }

    void arm_udp_ring() {
        udp_ring_state_ = RingState::Idle;
        kernel_udp_->when_taken(kRingAfterDatagrams, [this] { map_udp_ring(); });
    }

    void map_udp_ring() {
        RedirectKeeper* keeper = kernel_tcp_->keeper();
        std::string why;
        if (!keeper->alive() || !udp_ring_->map(&why)) {
            give_up_udp_ring(keeper->alive() ? why : "the TCP namespace's keeper exited");
            return;
        }
        kernel_udp_->gather_within(udp_ring_->begin(), udp_ring_->end());
        udp_ring_state_ = RingState::Starting;
        keeper->deliver_udp(true, [this](const std::string& why) {
            if (!why.empty()) {
                give_up_udp_ring(why);
                return;
            }
            udp_ring_state_ = RingState::Delivering;
            udp_ring_quiet_checks_ = 0;
            udp_ring_frames_at_check_ = udp_ring_->frames();
        });
    }

    // From housekeeping: a ring that took nothing for a while goes.
    void check_udp_ring() {
        if (!udp_ring_ || udp_ring_state_ != RingState::Delivering) return;
        uint64_t frames = udp_ring_->frames();
        udp_ring_quiet_checks_ =
            frames == udp_ring_frames_at_check_ ? udp_ring_quiet_checks_ + 1 : 0;
        udp_ring_frames_at_check_ = frames;
        if (udp_ring_quiet_checks_ < kRingQuietChecks) return;
        udp_ring_state_ = RingState::Stopping;
        kernel_tcp_->keeper()->deliver_udp(false, [this](const std::string&) {
            unmap_udp_ring();
            arm_udp_ring();
        });
    }

    void unmap_udp_ring() {
        udp_ring_->unmap();
        kernel_udp_->gather_within(nullptr, nullptr);
    }

    void give_up_udp_ring(const std::string& why) {
        udp_redirect_unavailable(why);
        unmap_udp_ring();
        udp_ring_.reset();
        stats_.udp_redirect = false;
    }

    void private_netns_child_done() {
        loop_.unwatch(pending_netns_->channel.get());
        pending_netns_->channel.reset();
        pending_netns_->child.wait();
        pending_netns_.reset();
        // Start-up is over only now: what it ran here goes back too.
        release_read_only_pages();
    }

    // Splice-mode forwards need a helper inside the namespace, forked now:
    // once the daemon is sandboxed it can neither fork nor join namespaces.
    bool start_splice_forwarding(std::string* error) {
        if (options_.target_type != TargetType::Netns || options_.netns_type == NetnsType::TapFd)
            return true;
        if (!NetnsHelper::start(options_, loop_, &fwd_helper_, error)) return false;
        splice_ = std::make_unique<SpliceForwarder>(loop_, *fwd_helper_);
        if (fwd_helper_->transparent()) {
            splice_->show_clients(options_.network.gateway, options_.network6.gateway);
        } else if (options_.port_forward_mode == PortForwardMode::Auto) {
            log_error("splice forwards cannot show clients' addresses (" +
                      fwd_helper_->transparent_error() +
                      "): port forwards that remote clients reach use slirp mode");
        }
        return true;
    }

    bool signal_ready(std::string* error) {
        if (options_.ready_fd < 0) return true;
        if (write_ready(options_.ready_fd)) return true;
        return fail(error,
                    errno_text("cannot write to ready-fd " + std::to_string(options_.ready_fd)));
    }

    // Unwatched, an exit condition would go unnoticed: start-up fails.
    bool watch_exit_conditions(std::string* error) {
        signals_ = block_termination_signals();
        if (!signals_) return fail(error, errno_text("signalfd"));
        bool ok = loop_.watch(
            signals_.get(), POLLIN,
            [this](short) {
                signalfd_siginfo info{};
                if (read(signals_.get(), &info, sizeof info) > 0)
                    std::fprintf(stderr, "slirp4netns: exiting on signal %u\n", info.ssi_signo);
                loop_.stop(0);
            },
            error);
        // Any event on the exit fd, data or hang-up, is the request to exit.
        if (ok && options_.exit_fd >= 0)
            ok = loop_.watch(
                options_.exit_fd, POLLIN, [this](short) { loop_.stop(0); }, error);
        if (ok && target_process_) {
            ok = loop_.watch(
                target_process_.get(), POLLIN,
                [this](short) {
                    log_error("target process " + std::to_string(options_.target_pid) +
                              " exited; its network namespace is going away");
                    loop_.unwatch(target_process_.get());
                    loop_.stop(1);
                },
                error);
        }
        return ok;
    }

    // Every kIdleCheckMs: fragments past their time are dropped, host
    // sockets libslirp left in FIN_WAIT2 too long are ended
    // (fin_wait2_fence.hpp), and memory is returned. Under load libslirp's
    // buffers take hundreds of MB, and glibc keeps what they freed: once
    // traffic has gone quiet, hand it back, so a helper that podman leaves
    // running for weeks does not keep its peak. The code and symbol tables
    // that traffic or the API faulted in go too; what runs next maps back the
    // few pages it needs (memory_return.hpp).
    void schedule_housekeeping() {
        loop_.add_timer(loop_.clock_ms() + kIdleCheckMs, [this] {
            path_.discard_expired_fragments();
            path_.stack().end_abandoned_half_closes(loop_.clock_ms());
            check_udp_ring();
            uint64_t frames = stats_.frames_from_guest + stats_.frames_to_guest;
            bool quiet = frames - frames_at_last_check_ < kQuietFrames;
            // Timers do work too: the kernel TCP path's sweep frees the
            // flows that lingered after a burst of connections.
            bool worked = frames != frames_at_last_return_ ||
                          stats_.api_requests != requests_at_last_return_ ||
                          heap_in_use() != heap_at_last_return_;
            if (quiet && worked) {
                release_free_heap();
                release_read_only_pages();
                frames_at_last_return_ = frames;
                requests_at_last_return_ = stats_.api_requests;
                heap_at_last_return_ = heap_in_use();
            }
            frames_at_last_check_ = frames;
            schedule_housekeeping();
        });
    }

    void accept_bess_client() {
        UniqueFd client = bess_->accept_client();
        if (!client) return;
        // One client per instance, as with a tap: stop listening once it is
        // here (destroying the listener removes the socket file, sandbox or not).
        loop_.unwatch(bess_->fd());
        bess_.reset();
        std::string why;
        if (!path_.attach_device(std::move(client), "BESS client", PacketPath::Device::Bess,
                                 &why)) {
            log_error(why);
            loop_.stop(1);
        }
    }

    const Options& options_;
    EventLoop loop_;
    Stats stats_;
    std::unique_ptr<PacketCapture> capture_;  // outlives path_, which writes to it
    PacketPath path_;
    UniqueFd signals_;
    std::unique_ptr<BessListener> bess_;
    UniqueFd target_process_;
    std::unique_ptr<NetnsHelper> fwd_helper_;
    std::unique_ptr<SpliceForwarder> splice_;
    std::unique_ptr<PendingPrivateNetns> pending_netns_;
    std::unique_ptr<KernelTcpPath> kernel_tcp_;
    std::unique_ptr<DnsForwarder> dns_;
    std::unique_ptr<KernelUdpPath> kernel_udp_;
    std::unique_ptr<FrameRing> udp_ring_;  // hands frames to path_ and kernel_udp_
    enum class RingState { Idle, Starting, Delivering, Stopping };
    RingState udp_ring_state_ = RingState::Idle;
    uint64_t udp_ring_frames_at_check_ = 0;
    int udp_ring_quiet_checks_ = 0;
    std::unique_ptr<ApiServer> api_;
    uint64_t frames_at_last_check_ = 0;
    uint64_t frames_at_last_return_ = 0;
    uint64_t requests_at_last_return_ = 0;
    size_t heap_at_last_return_ = 0;
};

}  // namespace

int run_daemon(const Options& options) {
    Daemon daemon(options);
    return daemon.run();
}
