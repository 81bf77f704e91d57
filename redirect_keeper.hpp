// SPDX-License-Identifier: GPL-2.0-or-later
// redirect_keeper.hpp owns the keeper: with kernel-to-kernel delivery
// (tc_redirect.hpp), the child that made the private namespace does not
// exit but stays in it, named slirp4netns-tcp, for three things only it can
// do once the daemon is confined:
//  - open a listener on a destination port in the private namespace (the
//    guest's segments reach the private kernel with their own ports, so a
//    listener must wait on each port the guest connects to) and pass it
//    back;
//  - add and remove the filter that leaves a slirp-mode forward's guest
//    port to libslirp;
//  - add the filters that send the guest's UDP to the UDP veth while the
//    daemon reads it there, and remove them (tc_redirect.hpp);
//  - remove the filters, the qdisc and the veth from the guest's namespace
//    when the daemon goes, however it goes: it learns that from its
//    channel's end of stream, SIGKILL included.
// The daemon asks without waiting (RedirectKeeper below); the keeper
// answers each request in order with one message. Requests are served one
// at a time and cost microseconds; the daemon bounds what it asks for
// (kernel_tcp.hpp bounds the listeners).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "child_process.hpp"
#include "event_loop.hpp"
#include "unique_fd.hpp"

struct RedirectScope;
class Rtnetlink;
class TcRedirect;

struct KeeperRequest {
    enum Op : uint8_t {
        Listen = 'L',
        Exclude = 'X',
        Include = 'I',
        DeliverUdp = 'U',
        StopUdp = 'u'
    };
    Op op = Listen;
    uint8_t family = 0;  // Listen: AF_INET or AF_INET6
    uint16_t port = 0;   // Listen: the destination port; else the guest port
};

// The child's side: serves requests on channel until the daemon's end
// closes, then removes the state from the guest's namespace and exits.
// seccomp: confined to the daemon's system calls, as --enable-seccomp
// confines the daemon.
[[noreturn]] void run_redirect_keeper(int channel, Rtnetlink& guest_ns, TcRedirect& redirect,
                                      const RedirectScope& scope, bool seccomp);

// The daemon's side.
class RedirectKeeper {
   public:
    RedirectKeeper(EventLoop& loop, UniqueFd channel, ChildProcess child);
    // Closes the channel and gives the keeper a moment to tidy the guest's
    // namespace before it is reaped.
    ~RedirectKeeper();
    RedirectKeeper(const RedirectKeeper&) = delete;
    RedirectKeeper& operator=(const RedirectKeeper&) = delete;

    bool start(std::string* err);  // watches the channel
    // done gets the listener, or an invalid descriptor and why not.
    using ListenerDone = std::function<void(UniqueFd, const std::string&)>;
    void listen(int family, uint16_t port, ListenerDone done);
    // The guest port's TCP goes to the daemon (a slirp-mode forward's), or
    // back to the private kernel.
    void exclude(uint16_t guest_port);
    void include(uint16_t guest_port);
    // The guest's UDP goes to the UDP veth from now on, or no longer; done
    // gets why not (empty: it does), once the filters are in or out.
    using UdpDone = std::function<void(const std::string&)>;
    void deliver_udp(bool deliver, UdpDone done);
    // False when nothing asked is still unanswered; otherwise done runs once
    // everything asked so far has been answered (or the keeper is gone).
    bool when_answered(std::function<void()> done);
    // False once the keeper is gone (it then answers nothing more).
    bool alive() const { return channel_.valid(); }

   private:
    bool send(const KeeperRequest& request);
    void ask(KeeperRequest::Op op, uint16_t guest_port);
    void on_reply();
    void lost();

    EventLoop& loop_;
    UniqueFd channel_;
    ChildProcess child_;
    struct Waiting {
        ListenerDone done;  // empty for Exclude/Include
        // Listen: a descriptor held for the listener, given up just before
        // it is received, so that it arrives even at the descriptor limit
        // (a message's descriptor that finds no slot is lost).
        UniqueFd slot;
        std::vector<std::function<void()>> after;  // when_answered's
    };
    std::deque<Waiting> waiting_;  // in request order
};
