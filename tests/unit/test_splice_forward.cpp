// SPDX-License-Identifier: GPL-2.0-or-later
// test_splice_forward.cpp: the splice forwarder's connection set-up, driven
// in one namespace through a scripted SocketOpener: a namespace-side connect()
// that finds no source address yet (EADDRNOTAVAIL, a tentative IPv6 address)
// is retried on a timer for a bounded time; other failures refuse at once.
// With show_clients(), each UDP flow asks for the client's address as the
// guest is to see it, and hands its reply rule back when it idles out.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

#include "event_loop.hpp"
#include "netns_helper.hpp"
#include "splice_forward.hpp"
#include "splice_relay.hpp"
#include "unique_fd.hpp"

#include "cmocka.hpp"

namespace {

// Fails the first `failures` requests with `error_number`, then connects
// for real (in this process's namespace).
class ScriptedOpener : public SocketOpener {
   public:
    ScriptedOpener(int failures, int error_number)
        : failures_(failures), error_number_(error_number) {}
    void open_socket(int type, const sockaddr_storage& to, socklen_t len, const SourceAddress& from,
                     Opened done) override {
        calls++;
        if (failures_ < 0 || calls <= failures_) {
            done(UniqueFd(), Failure{errno_text("connect", error_number_), error_number_});
            return;
        }
        UniqueFd fd;
        Failure failure;
        open_connected_socket(type, to, len, from, &fd, &failure);
        done(std::move(fd), failure);
    }
    void release_udp_flow(const sockaddr_storage&, uint16_t) override {}
    int calls = 0;

   private:
    int failures_;  // -1: fail forever
    int error_number_;
};

sockaddr_storage loopback(uint16_t port) {
    sockaddr_storage s{};
    auto& in = reinterpret_cast<sockaddr_in&>(s);
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return s;
}

// A listening "guest" server on 127.0.0.1 (non-blocking accept).
UniqueFd listen_loopback(uint16_t* port) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    assert_true(static_cast<bool>(fd));
    sockaddr_storage a = loopback(0);
    assert_int_equal(bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(sockaddr_in)), 0);
    assert_int_equal(listen(fd.get(), 16), 0);
    socklen_t len = sizeof a;
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
    *port = ntohs(reinterpret_cast<sockaddr_in&>(a).sin_port);
    return fd;
}

UniqueFd connect_loopback(uint16_t port) {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_storage a = loopback(port);
    assert_int_equal(connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(sockaddr_in)), 0);
    return fd;
}

// Runs the loop until done() holds or limit_ms pass; returns done() (which
// is called once more at the end, so it must latch what it saw).
bool run_until(EventLoop& loop, const std::function<bool()>& done, int64_t limit_ms) {
    int64_t give_up = loop.clock_ms() + limit_ms;
    std::function<void()> check = [&] {
        if (done() || loop.clock_ms() >= give_up) {
            loop.stop(0);
            return;
        }
        loop.add_timer(loop.clock_ms() + 5, check);
    };
    loop.add_timer(loop.clock_ms(), check);
    loop.run();
    return done();
}

struct Fixture {
    EventLoop loop;
    ScriptedOpener opener;
    SpliceForwarder forwarder;
    UniqueFd server;
    uint16_t host_port = 0;

    Fixture(int failures, int error_number, int64_t addr_wait_ms)
        : opener(failures, error_number),
          forwarder(loop, opener, SpliceForwarder::kDefaultUdpIdleMs, addr_wait_ms) {
        uint16_t guest_port = 0;
        server = listen_loopback(&guest_port);
        SpliceRule rule;
        rule.host = loopback(0);
        rule.host_len = sizeof(sockaddr_in);
        rule.guest = loopback(guest_port);
        rule.guest_len = sizeof(sockaddr_in);
        std::string error;
        SpliceForwarder::Handle h = 0;
        if (!forwarder.add(rule, &h, &error)) fail_msg("add: %s", error.c_str());
        host_port = forwarder.bound_port(h);
    }
};

// The client's fate: bytes the guest received, or how the client was closed.
std::string read_some(int fd) {
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) return std::string(buf, static_cast<size_t>(n));
    if (n == 0) return "eof";
    if (errno == EAGAIN) return "";
    return errno == ECONNRESET ? "reset" : std::strerror(errno);
}

void retried_until_the_address_is_usable(void**) {
    Fixture f(3, EADDRNOTAVAIL, 5000);
    UniqueFd client = connect_loopback(f.host_port);
    assert_int_equal(send(client.get(), "ping", 4, 0), 4);
    UniqueFd accepted;
    std::string got;
    bool ok = run_until(
        f.loop,
        [&] {
            if (!accepted) accepted.reset(accept4(f.server.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (accepted) got += read_some(accepted.get());
            return got == "ping";
        },
        3000);
    if (!ok) fail_msg("the guest got '%s' after %d opener calls", got.c_str(), f.opener.calls);
    assert_int_equal(f.opener.calls, 4);
    assert_int_equal(static_cast<int>(f.forwarder.tcp_connections()), 1);
}

// Runs the loop until the host-side client learns its fate (data, "eof" or
// "reset", as read_some reports it), for at most 3 s.
bool wait_for_fate(EventLoop& loop, int client, std::string* fate) {
    return run_until(
        loop,
        [&] {
            if (fate->empty()) *fate = read_some(client);
            return !fate->empty();
        },
        3000);
}

// Connects a host client and expects it to be reset; returns how long that took (ms).
int64_t ms_until_refused(Fixture& f) {
    UniqueFd client = connect_loopback(f.host_port);
    int64_t start = f.loop.clock_ms();
    std::string fate;
    if (!wait_for_fate(f.loop, client.get(), &fate))
        fail_msg("the client was never refused (%d opener calls)", f.opener.calls);
    assert_string_equal(fate.c_str(), "reset");
    return f.loop.clock_ms() - start;
}

void given_up_after_the_bound(void**) {
    Fixture f(-1, EADDRNOTAVAIL, 300);
    assert_true(ms_until_refused(f) >= 250);
    assert_true(f.opener.calls >= 3);  // retried, on a timer, not once per loop cycle
    assert_true(f.opener.calls <= 20);
    assert_int_equal(static_cast<int>(f.forwarder.tcp_connections()), 0);
}

void other_errors_refuse_at_once(void**) {
    Fixture f(-1, ECONNREFUSED, 5000);
    assert_true(ms_until_refused(f) < 1000);
    assert_int_equal(f.opener.calls, 1);
}

void client_leaving_while_waiting_is_dropped(void**) {
    Fixture f(-1, EADDRNOTAVAIL, 5000);
    UniqueFd client = connect_loopback(f.host_port);
    bool ok = run_until(
        f.loop,
        [&] {
            // Once the forwarder has accepted it and is waiting, the client
            // resets: the wait ends with it, well before the bound.
            if (client && f.opener.calls >= 1 && f.forwarder.tcp_connections() == 1) {
                linger l{1, 0};
                setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
                client.reset();
            }
            return !client && f.forwarder.tcp_connections() == 0;
        },
        2000);
    if (!ok)
        fail_msg("still %zu connections, %d opener calls", f.forwarder.tcp_connections(),
                 f.opener.calls);
}

// Two connected, non-blocking TCP sockets on loopback.
void tcp_pair(UniqueFd* one, UniqueFd* other) {
    uint16_t port = 0;
    UniqueFd server = listen_loopback(&port);
    *one = connect_loopback(port);
    fcntl(one->get(), F_SETFL, O_NONBLOCK);
    other->reset(accept4(server.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    assert_true(static_cast<bool>(*other));
}

bool readable_soon(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 3000) == 1;
}

size_t queued(int fd) {
    int n = 0;
    ioctl(fd, FIONREAD, &n);
    return static_cast<size_t>(n);
}

// A relay of two joined connections, as the kernel TCP path makes them:
// host_peer and guest_peer are the far ends of its host and guest sides.
struct Joined {
    EventLoop loop;
    SpliceRelay relay{loop};
    UniqueFd host_peer, guest_peer;
    int host_side = -1, guest_side = -1;
    uint64_t id = 0;
    int small_moves = 0;

    Joined() {
        UniqueFd host, guest;
        tcp_pair(&host_peer, &host);
        tcp_pair(&guest_peer, &guest);
        host_side = host.get();
        guest_side = guest.get();
        id = relay.join(std::move(host), std::move(guest));
        relay.on_small_move_to_guest([this] { small_moves++; });
    }
};

void request_relayed_without_a_loop_cycle(void**) {
    Joined j;
    assert_int_equal(send(j.guest_peer.get(), "ping", 4, 0), 4);
    assert_true(readable_soon(j.guest_side));
    // No loop cycle runs: the relay moves what the guest side holds now.
    j.relay.relay_from_guest_now(j.id);
    assert_true(readable_soon(j.host_peer.get()));
    assert_string_equal(read_some(j.host_peer.get()).c_str(), "ping");
    assert_int_equal(j.small_moves, 0);
    // An answer that came meanwhile waits for the loop while the guest
    // side has nothing to send ...
    assert_int_equal(send(j.host_peer.get(), "pong", 4, 0), 4);
    assert_true(readable_soon(j.host_side));
    j.relay.relay_from_guest_now(j.id);
    assert_true(j.relay.is_open(j.id));
    assert_int_equal(static_cast<int>(queued(j.host_side)), 4);
    assert_int_equal(j.small_moves, 0);
    // ... and goes with the next request, in the same turn, announced.
    assert_int_equal(send(j.guest_peer.get(), "ping", 4, 0), 4);
    assert_true(readable_soon(j.guest_side));
    j.relay.relay_from_guest_now(j.id);
    assert_true(readable_soon(j.guest_peer.get()));
    assert_string_equal(read_some(j.guest_peer.get()).c_str(), "pong");
    assert_string_equal(read_some(j.host_peer.get()).c_str(), "ping");
    assert_int_equal(j.small_moves, 1);
}

// The relayed stream's bytes from `offset`: a run that shows any byte
// lost, repeated or out of order.
std::string stream_bytes(size_t offset, size_t len) {
    std::string s(len, '\0');
    for (size_t i = 0; i < len; i++) s[i] = static_cast<char>((offset + i) % 251);
    return s;
}

// Moves what `fd` holds now through one loop cycle, once all `len` bytes
// have reached the relay's side.
void relay_when_queued(Joined& j, int side, size_t len) {
    assert_true(readable_soon(side));
    for (int i = 0; i < 3000 && queued(side) < len; i++) poll(nullptr, 0, 1);
    j.loop.run_once();
}

// Sends `bytes` from `peer` and relays them from `side` in one cycle.
void send_and_relay(Joined& j, int peer, int side, const std::string& bytes) {
    assert_int_equal(send(peer, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    relay_when_queued(j, side, bytes.size());
}

// Up to `len` bytes that reach `fd` within a few seconds (waiting only
// while none are there).
std::string received(int fd, size_t len, bool wait = true) {
    std::string got;
    while (got.size() < len && (!wait || readable_soon(fd))) {
        char buf[4096];
        ssize_t n = recv(fd, buf, std::min(sizeof buf, len - got.size()), MSG_DONTWAIT);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
    }
    return got;
}

void small_replies_are_announced_bulk_is_not(void**) {
    Joined j;
    assert_int_equal(send(j.host_peer.get(), "pong", 4, 0), 4);
    assert_true(readable_soon(j.host_side));
    j.loop.run_once();
    assert_true(readable_soon(j.guest_peer.get()));
    assert_string_equal(read_some(j.guest_peer.get()).c_str(), "pong");
    assert_int_equal(j.small_moves, 1);
    std::string bulk(16384, 'b');
    assert_int_equal(send(j.host_peer.get(), bulk.data(), bulk.size(), 0),
                     static_cast<ssize_t>(bulk.size()));
    relay_when_queued(j, j.host_side, bulk.size());
    assert_true(readable_soon(j.guest_peer.get()));
    assert_int_equal(j.small_moves, 1);
}

// A host peer that does not read: once the relay waits for its side to
// drain, an early relay reads no more from the guest than the loop would.
void an_early_relay_keeps_backpressure(void**) {
    Joined j;
    int small = 4096;
    setsockopt(j.host_peer.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    setsockopt(j.host_side, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    std::string chunk(65536, 'x');
    size_t before = 0;
    bool stalled = false;
    for (int i = 0; i < 2000 && !stalled; i++) {
        while (send(j.guest_peer.get(), chunk.data(), chunk.size(), MSG_DONTWAIT) > 0) {
        }
        j.loop.run_once();
        before = queued(j.guest_side);
        // Full everywhere: the guest side holds bytes the loop leaves there.
        j.loop.run_once();
        stalled = before > 0 && queued(j.guest_side) == before;
    }
    if (!stalled) fail_msg("the relay never stalled");
    j.relay.relay_from_guest_now(j.id);
    assert_int_equal(static_cast<int>(queued(j.guest_side)), static_cast<int>(before));
    assert_true(j.relay.is_open(j.id));
}

void requests_are_copied_bulk_is_spliced(void**) {
    Joined j;
    assert_int_equal(send(j.guest_peer.get(), "ping", 4, 0), 4);
    relay_when_queued(j, j.guest_side, 4);
    assert_true(readable_soon(j.host_peer.get()));
    assert_string_equal(read_some(j.host_peer.get()).c_str(), "ping");
    assert_int_equal(send(j.host_peer.get(), "pong", 4, 0), 4);
    relay_when_queued(j, j.host_side, 4);
    assert_true(readable_soon(j.guest_peer.get()));
    assert_string_equal(read_some(j.guest_peer.get()).c_str(), "pong");
    assert_int_equal(static_cast<int>(j.relay.bytes_copied()), 8);
    // A burst: its first piece is copied before the relay sees it is bulk,
    // the rest is spliced, and the burst after it is spliced whole.
    std::string burst = stream_bytes(0, 16384);
    send_and_relay(j, j.host_peer.get(), j.host_side, burst);
    assert_true(received(j.guest_peer.get(), burst.size()) == burst);
    uint64_t copied = j.relay.bytes_copied();
    assert_true(copied > 8 && copied < 8 + burst.size());
    send_and_relay(j, j.host_peer.get(), j.host_side, burst);
    assert_true(received(j.guest_peer.get(), burst.size()) == burst);
    assert_int_equal(static_cast<int>(j.relay.bytes_copied()), static_cast<int>(copied));
}

// A host side whose peer does not read takes part of a copied message:
// the rest waits in the pipe, and the stream arrives whole and in order.
void a_copy_the_host_side_cannot_take_waits_in_the_pipe(void**) {
    Joined j;
    int small = 4096;
    setsockopt(j.host_peer.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    setsockopt(j.host_side, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    size_t sent = 0;
    bool stalled = false;
    for (int i = 0; i < 1000 && !stalled; i++) {
        std::string message = stream_bytes(sent, 1000);
        assert_int_equal(send(j.guest_peer.get(), message.data(), message.size(), 0), 1000);
        sent += message.size();
        relay_when_queued(j, j.guest_side, message.size());
        stalled = queued(j.guest_side) > 0;
    }
    if (!stalled) fail_msg("the host side never filled");
    std::string got;
    // The relay moves the rest as the peer reads: a cycle, then what came.
    for (int i = 0; i < 3000 && got.size() < sent; i++) {
        j.loop.run_once();
        got += received(j.host_peer.get(), sent - got.size(), false);
        poll(nullptr, 0, 1);
    }
    assert_int_equal(static_cast<int>(got.size()), static_cast<int>(sent));
    assert_true(got == stream_bytes(0, sent));
    assert_true(j.relay.bytes_copied() < sent);
}

// Hermetic like the integration tests: a network namespace of our own with
// only loopback when we may make one (as root), else the caller's loopback.
void private_loopback() {
    if (unshare(CLONE_NEWNET) < 0) return;
    UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) return;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ioctl(s.get(), SIOCSIFFLAGS, &ifr);
}

}  // namespace

// Records what a transparent forwarder asks for; opens plain sockets (the
// transparent bind needs a namespace of its own, which the integration
// tests have).
class RecordingOpener : public SocketOpener {
   public:
    void open_socket(int type, const sockaddr_storage& to, socklen_t len, const SourceAddress& from,
                     Opened done) override {
        asked_from = from;
        UniqueFd fd;
        Failure failure;
        open_connected_socket(type, to, len, SourceAddress{}, &fd, &failure);
        socklen_t local_len = sizeof opened_local;
        getsockname(fd.get(), reinterpret_cast<sockaddr*>(&opened_local), &local_len);
        done(std::move(fd), failure);
    }
    void release_udp_flow(const sockaddr_storage& local, uint16_t guest_port) override {
        released++;
        released_local = local;
        released_port = guest_port;
    }
    SourceAddress asked_from;
    sockaddr_storage opened_local{};
    int released = 0;
    sockaddr_storage released_local{};
    uint16_t released_port = 0;
};

void udp_flow_shows_the_client_and_releases_its_rule(void**) {
    EventLoop loop;
    RecordingOpener opener;
    SpliceForwarder forwarder(loop, opener, 200);
    in_addr gateway{};
    inet_pton(AF_INET, "10.0.2.2", &gateway);
    forwarder.show_clients(gateway, in6addr_any);
    UniqueFd guest(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_storage guest_addr = loopback(0);
    assert_int_equal(
        bind(guest.get(), reinterpret_cast<sockaddr*>(&guest_addr), sizeof(sockaddr_in)), 0);
    socklen_t len = sizeof guest_addr;
    getsockname(guest.get(), reinterpret_cast<sockaddr*>(&guest_addr), &len);
    SpliceRule rule;
    rule.type = SOCK_DGRAM;
    rule.host = loopback(0);
    rule.host_len = sizeof(sockaddr_in);
    rule.guest = guest_addr;
    rule.guest_len = sizeof(sockaddr_in);
    std::string error;
    SpliceForwarder::Handle h = 0;
    if (!forwarder.add(rule, &h, &error)) fail_msg("add: %s", error.c_str());

    UniqueFd client(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_storage host = loopback(forwarder.bound_port(h));
    assert_int_equal(connect(client.get(), reinterpret_cast<sockaddr*>(&host), sizeof(sockaddr_in)),
                     0);
    sockaddr_storage client_addr{};
    len = sizeof client_addr;
    getsockname(client.get(), reinterpret_cast<sockaddr*>(&client_addr), &len);
    assert_int_equal(send(client.get(), "ping", 4, 0), 4);
    // One run (the loop cannot be restarted): the datagram arrives, then the
    // flow idles out.
    char got[8] = {};
    size_t flows_while_active = 0;
    bool ok = run_until(
        loop,
        [&] {
            if (got[0] == 0 && recv(guest.get(), got, sizeof got - 1, 0) > 0)
                flows_while_active = forwarder.udp_flows();
            return opener.released > 0;
        },
        3000);
    assert_string_equal(got, "ping");
    if (!ok) fail_msg("the idle flow's reply rule was never released");
    assert_int_equal(static_cast<int>(flows_while_active), 1);
    // A loopback client is asked for as the gateway, keeping its port.
    const auto& from = reinterpret_cast<const sockaddr_in&>(opener.asked_from.addr);
    assert_int_equal(opener.asked_from.len, sizeof(sockaddr_in));
    assert_int_equal(from.sin_addr.s_addr, gateway.s_addr);
    assert_int_equal(from.sin_port, reinterpret_cast<sockaddr_in&>(client_addr).sin_port);
    // Idle: the flow is gone, and its rule handed back under the socket's address.
    assert_int_equal(opener.released, 1);
    assert_int_equal(static_cast<int>(forwarder.udp_flows()), 0);
    assert_memory_equal(&opener.released_local, &opener.opened_local, sizeof(sockaddr_in));
    assert_int_equal(opener.released_port,
                     ntohs(reinterpret_cast<sockaddr_in&>(guest_addr).sin_port));
}

int main() {
    private_loopback();
    const CMUnitTest tests[] = {
        cmocka_unit_test(retried_until_the_address_is_usable),
        cmocka_unit_test(given_up_after_the_bound),
        cmocka_unit_test(other_errors_refuse_at_once),
        cmocka_unit_test(client_leaving_while_waiting_is_dropped),
        cmocka_unit_test(udp_flow_shows_the_client_and_releases_its_rule),
        cmocka_unit_test(request_relayed_without_a_loop_cycle),
        cmocka_unit_test(small_replies_are_announced_bulk_is_not),
        cmocka_unit_test(an_early_relay_keeps_backpressure),
        cmocka_unit_test(requests_are_copied_bulk_is_spliced),
        cmocka_unit_test(a_copy_the_host_side_cannot_take_waits_in_the_pipe),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
