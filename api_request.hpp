// SPDX-License-Identifier: GPL-2.0-or-later
// api_request.hpp owns the API protocol without any socket: deciding when the
// bytes a client sent form a whole request, parsing and validating them into
// a typed ApiRequest with slirp4netns's exact error descs, the table of
// forwards (ids, duplicates), and formatting every reply.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"
#include "stats.hpp"

// Requests of this many bytes or more are refused, as slirp4netns does.
constexpr size_t kApiMaxRequest = 4096;

enum class FrameState {
    Incomplete,  // wait for more bytes
    Complete,    // parse the buffer now
    TooLarge,    // reply "too large message"
};

// Decides from the bytes received so far (and whether the client half-closed)
// whether a request can be served. A request is complete once its bytes hold
// one whole JSON object or array, or when the client stops sending.
FrameState frame_state(std::string_view bytes, bool eof);

struct IpAddress {
    int family = AF_INET;  // AF_INET or AF_INET6
    in_addr v4{};
    in6_addr v6{};

    bool is_any() const;
    bool is_loopback() const;  // 127.0.0.0/8 or ::1
    bool operator==(const IpAddress& other) const;
};

std::optional<IpAddress> parse_ip_address(const std::string& text, bool allow_ipv6);

struct HostfwdSpec {
    bool udp = false;
    std::string host_addr_text;  // as given (or the default), shown by list_hostfwd
    std::string guest_addr_text;
    IpAddress host_addr;
    IpAddress guest_addr;
    int host_port = 0;
    int guest_port = 0;
    PortForwardMode mode = PortForwardMode::Slirp;  // "mode": "slirp" | "splice"; never Auto
};

enum class ApiCommand { AddHostfwd, ListHostfwd, RemoveHostfwd, GetStats };

struct ApiRequest {
    ApiCommand command = ApiCommand::ListHostfwd;
    HostfwdSpec hostfwd;     // AddHostfwd
    uint64_t remove_id = 0;  // RemoveHostfwd
};

struct RequestDefaults {
    in_addr guest_addr{};                          // what -c assigns to the guest
    bool ipv6 = false;                             // -6: IPv6 literals are accepted
    PortForwardMode mode = PortForwardMode::Auto;  // --port-forward-mode, for requests without one
    // Splice forwards show the guest each client's real address (the helper
    // set up transparent routing): auto then splices every forward.
    bool splice_shows_clients = false;
};

// On failure *err is the error desc to reply with.
bool parse_request(std::string_view bytes, const RequestDefaults& defaults, ApiRequest* request,
                   std::string* err);

// The forwards in effect, in the order they were added. Ids start at 1 and are
// never reused.
struct HostfwdEntry {
    uint64_t id = 0;
    HostfwdSpec spec;
};

class HostfwdTable {
   public:
    // The entry that would listen on the same proto, port and address (or
    // overlapping wildcard of the same family), if any.
    const HostfwdEntry* conflicting(const HostfwdSpec& spec) const;
    uint64_t add(const HostfwdSpec& spec);
    const HostfwdEntry* find(uint64_t id) const;
    bool remove(uint64_t id);
    const std::vector<HostfwdEntry>& entries() const { return entries_; }

   private:
    std::vector<HostfwdEntry> entries_;
    uint64_t next_id_ = 1;
};

namespace api_error {
inline constexpr const char* kCannotParse = "bad request: cannot parse JSON";
inline constexpr const char* kNoExecute = "bad request: no execute found";
inline constexpr const char* kUnknownExecute = "bad request: unknown execute";
inline constexpr const char* kBadProto = "bad request: add_hostfwd: bad arguments.proto";
inline constexpr const char* kBadHostAddr = "bad request: add_hostfwd: bad arguments.host_addr";
inline constexpr const char* kBadHostPort = "bad request: add_hostfwd: bad arguments.host_port";
inline constexpr const char* kBadGuestAddr = "bad request: add_hostfwd: bad arguments.guest_addr";
inline constexpr const char* kBadGuestPort = "bad request: add_hostfwd: bad arguments.guest_port";
inline constexpr const char* kBadMode = "bad request: add_hostfwd: bad arguments.mode";
inline constexpr const char* kNoSplice =
    "bad request: add_hostfwd: mode splice needs a network namespace target";
inline constexpr const char* kAddFailed = "bad request: add_hostfwd: slirp_add_hostfwd failed";
inline constexpr const char* kBadId = "bad request: remove_hostfwd: bad arguments.id";
inline constexpr const char* kRemoveFailed =
    "bad request: remove_hostfwd: slirp_remove_hostfwd failed";
inline constexpr const char* kTooLarge = "bad request: too large message";
}  // namespace api_error

// The desc for a forward that duplicates an existing one.
std::string duplicate_error(uint64_t existing_id);

std::string format_error(const std::string& desc);
std::string format_added(uint64_t id);
std::string format_empty_return();
std::string format_list(const HostfwdTable& table);
std::string format_stats(const Stats& stats, size_t active_forwards, uint64_t clients_dropped,
                         int64_t now_ms);
