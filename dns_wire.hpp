// SPDX-License-Identifier: GPL-2.0-or-later
// dns_wire.hpp owns the frame and message work of the DNS forwarder
// (dns_forwarder.hpp): recognizing a guest's UDP query to the DNS address
// in an Ethernet frame, building the UDP frame that carries an answer back,
// and the two answers the forwarder makes itself from a message's header and
// question: SERVFAIL (no nameserver answered) and a truncated copy (an
// answer too large for the guest's link, which the guest then asks again
// over TCP). Pure functions over byte buffers: unit-tested in
// tests/unit/test_dns_wire.cpp.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

constexpr uint16_t kDnsPort = 53;
constexpr size_t kDnsHeader = 12;

// Where the forwarder answers: the DNS address of each family.
struct DnsAddresses {
    in_addr dns4{};
    bool ipv6 = false;
    in6_addr dns6{};
};

// A guest's query as the frame carried it.
struct DnsQueryFrame {
    int family = 0;  // AF_INET or AF_INET6
    std::array<uint8_t, 6> guest_mac{};
    std::array<uint8_t, 16> guest{}, server{};  // the first 4 bytes for IPv4
    uint16_t guest_port = 0;
    const uint8_t* message = nullptr;
    size_t message_len = 0;
};

// A UDP datagram (IPv4 not fragmented, IPv6 with UDP as the first next
// header) to a DNS address, port 53, whole within len. Says nothing about
// the message inside.
bool parse_dns_query_frame(const uint8_t* frame, size_t len, const DnsAddresses& addresses,
                           DnsQueryFrame* out);

// Whether a message is worth forwarding: a whole header, a query (QR clear)
// with exactly one question (c-ares matches answers by their question).
bool is_forwardable_query(const uint8_t* message, size_t len);

// The frame answering `query` with `message`: from the DNS address it asked,
// port 53, and source MAC `from_mac`, to the guest; checksums filled in.
std::vector<uint8_t> build_dns_reply_frame(const DnsQueryFrame& query,
                                           const std::array<uint8_t, 6>& from_mac,
                                           const uint8_t* message, size_t len);
// IP and UDP headers in front of the message, per family.
size_t dns_reply_overhead(int family);

// The header and question of `message` (a query or an answer) as an answer
// with RCODE `rcode` (and TC when `truncated`), no records. QR and RA set,
// opcode, RD and the id kept. Empty when there is not even a header.
std::vector<uint8_t> dns_question_only(const uint8_t* message, size_t len, uint8_t rcode,
                                       bool truncated);
constexpr uint8_t kDnsServfail = 2;
