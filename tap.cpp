// SPDX-License-Identifier: GPL-2.0-or-later
// tap.cpp: tap creation in a child inside the target namespaces (see tap.hpp).
#include "tap.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>

#include "child_process.hpp"
#include "error.hpp"
#include "fd_passing.hpp"
#include "interface.hpp"
#include "namespaces.hpp"
#include "vnet.hpp"

// UDP segmentation offload (Linux 6.2); Debian 12's headers predate it.
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

namespace {

// The kernel takes both or neither.
constexpr unsigned kTunUso = TUN_F_USO4 | TUN_F_USO6;

// Everything the child does.
bool child_create_tap(const Options& options, const TargetNamespaces& ns, UniqueFd* tap,
                      std::string* err) {
    if (!join_target_namespaces(ns, err) || !create_tap(options.tap_name, tap, err)) return false;
    if (!options.configure) return true;
    InterfaceSettings settings{options.tap_name, options.mtu, options.mac, options.network,
                               options.enable_ipv6};
    return configure_interface(settings, err);
}

bool adopt_tap_fd(int fd, Tap* tap, std::string* err) {
    if (fcntl(fd, F_GETFD) < 0) return fail(err, "tap FD " + std::to_string(fd) + " is not open");
    // Anything else (a terminal, a socket) would be read as frames.
    ifreq ifr{};
    if (ioctl(fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_TAP))
        return fail(err, "FD " + std::to_string(fd) + " is not a tap device");
    tap->fd.reset(fd);
    fcntl(fd, F_SETFL, O_NONBLOCK | O_RDWR);
    return true;
}

}  // namespace

bool create_tap(const std::string& name, UniqueFd* tap, std::string* err) {
    UniqueFd tun(open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!tun) return fail(err, errno_text("cannot open /dev/net/tun"));
    ifreq ifr{};
    // IFF_VNET_HDR: frames carry a virtio-net header, so the daemon can let the
    // kernel segment and checksum (see vnet.hpp).
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (ioctl(tun.get(), TUNSETIFF, &ifr) < 0)
        return fail(err, errno_text("cannot create tap device \"" + name + "\" (TUNSETIFF)"));
    *tap = std::move(tun);
    return true;
}

bool open_tap(const Options& options, Tap* tap, std::string* err, TapChildSequel* sequel) {
    if (options.netns_type == NetnsType::TapFd) return adopt_tap_fd(options.tap_fd, tap, err);
    if (options.netns_type == NetnsType::Pid) {
        long pidfd = syscall(SYS_pidfd_open, options.target_pid, 0);
        tap->target_process.reset(static_cast<int>(pidfd));
        if (!tap->target_process && errno == ESRCH)
            return fail(err, no_such_process(options.target_pid));
    }
    TargetNamespaces ns;
    if (!open_target_namespaces(options, &ns, err)) return false;
    UniqueFd parent_end;
    ChildProcess child;
    auto body = [&](UniqueFd child_end) {
        std::string error;
        UniqueFd created;
        bool ok = child_create_tap(options, ns, &created, &error);
        send_fd(child_end.get(), created, error);
        if (!ok || !sequel) _exit(ok ? 0 : 1);
        created.reset();
        sequel->body(child_end.get());
    };
    if (!fork_with_channel(body, &parent_end, &child, err)) return false;
    UniqueFd received;
    std::string message;
    receive_fd(parent_end.get(), &received, &message, nullptr);
    if (!received) {
        child.wait();
        return fail(err, message.empty() ? "the namespace child exited without a tap fd" : message);
    }
    if (sequel) {
        sequel->channel = std::move(parent_end);
        sequel->child = std::move(child);
    } else {
        child.wait();
    }
    fcntl(received.get(), F_SETFL, O_NONBLOCK | O_RDWR);
    tap->fd = std::move(received);
    return true;
}

TapOffloads enable_tap_offloads(int tap, unsigned* mtu, bool full_mtu_udp_segments) {
    TapOffloads offloads;
    ifreq ifr{};
    if (ioctl(tap, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_VNET_HDR)) return offloads;
    int size = sizeof(VnetHeader);
    if (ioctl(tap, TUNSETVNETHDRSZ, &size) < 0) return offloads;
    offloads.vnet_header = true;
    // At the largest MTU every TCP segment already fits a frame: TSO would
    // only move checksumming from the guest's kernel (fused with its copy)
    // into this process. A UDP_SEGMENT send still comes as a frame per
    // datagram unless the tap takes USO, which needs partial checksums.
    if (*mtu >= kVnetSlirpMtu) {
        offloads.udp_segments =
            full_mtu_udp_segments && ioctl(tap, TUNSETOFFLOAD, TUN_F_CSUM | kTunUso) == 0;
        return offloads;
    }
    // Kernels before 6.2 refuse USO (EINVAL): today's set then.
    unsigned base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
    if (ioctl(tap, TUNSETOFFLOAD, base | kTunUso) == 0)
        offloads.udp_segments = true;
    else if (ioctl(tap, TUNSETOFFLOAD, base) < 0)
        return offloads;
    offloads.segment_mtu = *mtu;
    *mtu = kVnetSlirpMtu;
    return offloads;
}
