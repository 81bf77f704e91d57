// SPDX-License-Identifier: GPL-2.0-or-later
// dns_forwarder.hpp owns the DNS forwarder of the DNS address (10.0.2.3,
// fd00::3) that takes the place of libslirp's: libslirp sends a query to the
// first nameserver of resolv.conf of the query's own family only, so a dead
// first nameserver breaks all DNS and an IPv6-only host cannot answer
// 10.0.2.3. This one sends every query, of either family, to every
// nameserver of resolv.conf (resolv_conf.hpp), of either family.
//
// Theory of operation. The resolving is c-ares's (Debian's libc-ares 1.18):
// ares_send forwards a raw query as it is (the guest's id kept), tries the
// servers in order, moves on after a timeout and on SERVFAIL, NOTIMP and
// REFUSED, with resolv.conf's timeout (doubled each round, as glibc does),
// attempts and rotate; its sockets are watched in our loop through its
// socket-state callback, its timeouts run on one loop timer (ares_timeout).
// A resolver written here would have to get all of that, and the answer
// matching that keeps spoofed answers out, right by itself.
//  - UDP: the packet path offers every whole guest frame (IPv4 fragments
//    already reassembled) to from_guest(); a datagram to the DNS address,
//    port 53, is taken (dns_wire.hpp), sent with ares_send on a channel with
//    ARES_FLAG_IGNTC (a truncated answer goes back as it is, and the guest
//    asks again over TCP), and the answer written to the guest as a UDP
//    frame from the DNS address. An answer larger than the guest's MTU goes
//    back truncated (header, question, TC), never fragmented.
//  - TCP: the kernel TCP path (kernel_tcp.hpp) takes a guest's connection to
//    the DNS address, port 53, as any other, but its "host socket" is one
//    end of a socketpair from open_stream(); the other end is read here as
//    the DNS TCP stream it is (two-byte length, message), each query sent on
//    a channel with ARES_FLAG_USEVC, each answer written back.
//  - No answer from any server, or every server refusing: the guest gets a
//    SERVFAIL made here (dns_wire.hpp), at once when there is nothing to try.
//  - The server that answered last goes first: c-ares 1.18 starts every
//    query at the first server of its channel and its servers cannot be
//    changed while queries are pending, so a new channel is made with that
//    server first (unless `rotate`), and the old one serves the queries it
//    has until they end. The same happens when resolv.conf changes.
//  - resolv.conf is looked at (one stat) when a query comes, at most once a
//    second, so an idle daemon never wakes for it; a changed stamp (a rewrite
//    in place, a rename over, a retargeted symlink) rereads it. With
//    --enable-sandbox the path is the same: /etc and /run are binds of the
//    host's (sandbox.hpp), so their files and links are the host's.
//  - c-ares opens /dev/urandom for each channel, absent in the sandbox; it
//    only seeds the ids of queries c-ares makes up itself, and ares_send
//    keeps the guest's.
//  - A TCP stream with nothing in flight for 30 s is closed, as DNS servers
//    close idle connections, so idle guests cannot hold the streams' bound.
//  - Bounds: queries in flight (a retransmission of one in flight is
//    dropped; past the bound new ones are dropped and counted, as a busy
//    server does), TCP streams (past the bound the connection is left to
//    libslirp), queries per stream, and retired channels (each holds a
//    socket per server).
#pragma once

#include <ares.h>
#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dns_wire.hpp"
#include "event_loop.hpp"
#include "resolv_conf.hpp"
#include "stats.hpp"
#include "unique_fd.hpp"

class DnsForwarder {
   public:
    struct Settings {
        DnsAddresses addresses;
        std::array<uint8_t, 6> mac{};  // the gateway's: the source MAC of IPv4 answers
        unsigned mtu = 1500;
        std::string resolv_conf = "/etc/resolv.conf";
        size_t max_queries = 512;
        size_t max_streams = 64;
        size_t max_queries_per_stream = 16;
    };
    using GuestWriter = std::function<void(const uint8_t*, size_t)>;

    // Fails only when c-ares cannot be initialized.
    static bool create(EventLoop& loop, Settings settings, GuestWriter to_guest,
                       DnsCounters& counters, std::unique_ptr<DnsForwarder>* out, std::string* err);
    ~DnsForwarder();
    DnsForwarder(const DnsForwarder&) = delete;
    DnsForwarder& operator=(const DnsForwarder&) = delete;

    // A whole frame from the guest: true when it was a query of ours (taken,
    // answered later or dropped), false when it goes on to libslirp.
    bool from_guest(const uint8_t* frame, size_t len);

    // One end of a new DNS TCP stream served here; invalid past the bound
    // (or when no socketpair can be had).
    UniqueFd open_stream();

   private:
    struct Channel;
    struct Query;
    struct Stream {
        UniqueFd fd;
        std::vector<uint8_t> in, out;
        size_t pending = 0;
        int64_t active_ms = 0;  // the last query or answer
        bool eof = false;       // nothing more comes from the guest
        bool dead = false;      // the guest went away, or sent what is not DNS
    };
    // A UDP query in flight, as the guest would retransmit it.
    struct UdpKey {
        int family;
        std::array<uint8_t, 16> guest;
        uint16_t port, id;
        auto operator<=>(const UdpKey&) const = default;
    };

    DnsForwarder(EventLoop& loop, Settings settings, GuestWriter to_guest, DnsCounters& counters);

    void look_at_resolv_conf();
    Channel* channel(bool tcp);
    std::unique_ptr<Channel> make_channel(bool tcp);
    void retire_channels();
    void send(bool tcp, std::unique_ptr<Query> query, const uint8_t* message, size_t len);
    static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
    void answered(Query& q, int status, const uint8_t* abuf, size_t alen);
    void deliver(Query& q, const uint8_t* message, size_t len);
    void forget(Query& q);
    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable);
    void on_socket(Channel* c, int fd, short revents);
    void after_ares();
    std::vector<Channel*> channels();
    void on_timer();
    void on_stream(uint64_t id, short revents);
    void service_stream(uint64_t id);
    bool take_stream_queries(uint64_t id);
    void write_stream_output(Stream& s);
    void sweep_streams();

    EventLoop& loop_;
    Settings settings_;
    GuestWriter to_guest_;
    DnsCounters& counters_;
    ResolverConfig config_;
    FileStamp stamp_;
    int64_t looked_ms_ = -1;
    std::optional<sockaddr_storage> preferred_;
    std::unique_ptr<Channel> udp_, tcp_;
    bool stale_ = false;  // udp_ and tcp_ are to be replaced (config or preference)
    std::vector<std::unique_ptr<Channel>> retired_;
    size_t in_flight_ = 0;
    std::set<UdpKey> udp_in_flight_;
    std::map<uint64_t, Stream> streams_;
    uint64_t next_stream_ = 1;
    bool streams_touched_ = false;         // answers wait in some stream's output
    EventLoop::TimerId stream_sweep_ = 0;  // armed while there are streams
    bool in_ares_ = false;                 // c-ares is running: nothing may go
    // The server whose socket is being read: an answer that ends a query
    // now came from it.
    const sockaddr_storage* answering_ = nullptr;
    EventLoop::TimerId timer_ = 0;
    int64_t timer_ms_ = 0;
    bool destroying_ = false;
};
