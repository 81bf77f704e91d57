// SPDX-License-Identifier: GPL-2.0-or-later
// tap.hpp owns the tap device: a short-lived child joins the target's user
// and network namespaces, creates the tap (and configures it with -c), and
// hands the fd back to the daemon, which never leaves the host namespace;
// with a sequel, the child then goes on to other work in those namespaces.
// And, once the tap is here, its virtio-net offloads.
#pragma once

#include <functional>
#include <string>

#include "child_process.hpp"
#include "options.hpp"
#include "unique_fd.hpp"

struct Tap {
    UniqueFd fd;
    // With --netns-type=pid, a pidfd of the target process (when the kernel
    // has pidfd_open): it becomes readable when the target exits. The tap fd
    // pins the namespace, so the tap alone would never go away.
    UniqueFd target_process;
};

// More work for the tap child once the tap is sent, in the namespaces it
// joined: body runs there with the child's end of the channel and must not
// return. The daemon then keeps the child and its end of the channel here,
// instead of reaping the child.
struct TapChildSequel {
    std::function<void(int channel)> body;
    UniqueFd channel;
    ChildProcess child;  // running body once open_tap returns; none with a tap FD
};

// Creates the tap `name` in the caller's network namespace, with virtio-net
// headers (IFF_VNET_HDR, see vnet.hpp): the guest's, and the kernel TCP
// path's own (private_netns.hpp). The fd is close-on-exec.
bool create_tap(const std::string& name, UniqueFd* tap, std::string* err);

// Honors --netns-type (pid, path, tapfd), --userns-path and --configure.
// The fd is non-blocking and close-on-exec. sequel may be null.
bool open_tap(const Options& options, Tap* tap, std::string* err, TapChildSequel* sequel);

// What the tap's virtio-net offloads came to (see vnet.hpp).
struct TapOffloads {
    bool vnet_header = false;  // every frame is prefixed with a VnetHeader
    // When the kernel segments and checksums for us: the tap's MTU (the
    // guest's), while libslirp runs at kVnetSlirpMtu. 0 when it does not.
    unsigned segment_mtu = 0;
    // The guest's UDP_SEGMENT sends come whole, one frame per send (USO).
    bool udp_segments = false;
};

// Before libslirp starts: when the tap carries virtio-net headers (open_tap
// asks for IFF_VNET_HDR), lets the kernel segment and checksum for us below
// the largest MTU, UDP included where the kernel can. *mtu is the
// configured MTU, raised to kVnetSlirpMtu when the kernel segments.
// full_mtu_udp_segments: at the largest MTU too, take the guest's UDP
// sends whole (which needs its checksums left partial: right when no
// libslirp TCP would have to complete them here).
TapOffloads enable_tap_offloads(int tap, unsigned* mtu, bool full_mtu_udp_segments);
