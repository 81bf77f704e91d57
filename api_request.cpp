// SPDX-License-Identifier: GPL-2.0-or-later
// api_request.cpp: the API protocol without sockets (see api_request.hpp).
#include "api_request.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "ip_address.hpp"

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

bool is_json_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Scans a top-level object, array or string without recursion (a deeply
// nested request costs one counter, not stack). Returns true once it closes.
bool container_closes(std::string_view bytes, size_t start) {
    size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (size_t i = start; i < bytes.size(); i++) {
        char c = bytes[i];
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
                if (depth == 0) return true;  // a top-level string
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0 || --depth == 0) return true;
        }
    }
    return false;
}

// A port or id: a JSON number with an integral value in [min, max]. Strings,
// booleans and fractions are refused; 80.0 is the number 80.
std::optional<uint64_t> integral(const json& value, uint64_t min, uint64_t max) {
    if (value.is_number_unsigned()) {
        uint64_t v = value.get<uint64_t>();
        if (v >= min && v <= max) return v;
        return std::nullopt;
    }
    if (value.is_number_integer()) {
        int64_t v = value.get<int64_t>();
        if (v >= 0 && static_cast<uint64_t>(v) >= min && static_cast<uint64_t>(v) <= max)
            return static_cast<uint64_t>(v);
        return std::nullopt;
    }
    if (value.is_number_float()) {
        double v = value.get<double>();
        if (!std::isfinite(v) || std::floor(v) != v) return std::nullopt;
        if (v < static_cast<double>(min) || v > static_cast<double>(max)) return std::nullopt;
        return static_cast<uint64_t>(v);
    }
    return std::nullopt;
}

const json* member(const json& object, const char* name) {
    if (!object.is_object()) return nullptr;
    auto it = object.find(name);
    if (it == object.end() || it->is_null()) return nullptr;  // null means "not given"
    return &*it;
}

// Parses an address argument; absent means `fallback`.
bool address_argument(const json& args, const char* name, const std::string& fallback,
                      bool allow_ipv6, std::string* text, IpAddress* address) {
    const json* value = member(args, name);
    // An empty string means the default too, as in slirp4netns: podman 4.3
    // always sends "guest_addr":"" when it means the default.
    if (value == nullptr || (value->is_string() && value->get_ref<const std::string&>().empty())) {
        *text = fallback;
    } else if (value->is_string()) {
        *text = value->get<std::string>();
    } else {
        return false;
    }
    auto parsed = parse_ip_address(*text, allow_ipv6);
    if (!parsed) return false;
    *address = *parsed;
    return true;
}

bool port_argument(const json& args, const char* name, int* port) {
    const json* value = member(args, name);
    if (value == nullptr) return false;
    auto v = integral(*value, 1, 65535);
    if (!v) return false;
    *port = static_cast<int>(*v);
    return true;
}

bool parse_add_hostfwd(const json& args, const RequestDefaults& defaults, ApiRequest* request,
                       std::string* err) {
    request->command = ApiCommand::AddHostfwd;
    HostfwdSpec& spec = request->hostfwd;
    const json* proto = member(args, "proto");
    if (proto == nullptr || !proto->is_string()) return fail(err, api_error::kBadProto);
    if (*proto == "udp") {
        spec.udp = true;
    } else if (*proto != "tcp") {
        return fail(err, api_error::kBadProto);
    }
    if (!address_argument(args, "host_addr", "0.0.0.0", defaults.ipv6, &spec.host_addr_text,
                          &spec.host_addr))
        return fail(err, api_error::kBadHostAddr);
    if (!port_argument(args, "host_port", &spec.host_port))
        return fail(err, api_error::kBadHostPort);
    char guest_default[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &defaults.guest_addr, guest_default, sizeof guest_default);
    if (!address_argument(args, "guest_addr", guest_default, defaults.ipv6, &spec.guest_addr_text,
                          &spec.guest_addr))
        return fail(err, api_error::kBadGuestAddr);
    if (!port_argument(args, "guest_port", &spec.guest_port))
        return fail(err, api_error::kBadGuestPort);
    // libslirp (4.7) relays a connection only within one family, so in slirp
    // mode an IPv6 host address needs an explicit IPv6 guest address (the
    // guest's SLAAC address is not known here). Splice mode opens the guest
    // side itself, in either family: podman's "-p [::1]:8080:80" (guest_addr
    // "") works there, and auto picks it rather than refusing. Without
    // transparent routing, splice would show remote clients as the
    // namespace's own address, so auto then keeps slirp for forwards they
    // reach and splices only loopback-bound ones (no client is itself there).
    bool one_family = spec.guest_addr.family == spec.host_addr.family;
    spec.mode = defaults.mode;
    if (spec.mode == PortForwardMode::Auto)
        spec.mode = defaults.splice_shows_clients || spec.host_addr.is_loopback() || !one_family
                        ? PortForwardMode::Splice
                        : PortForwardMode::Slirp;
    if (const json* mode = member(args, "mode")) {
        if (*mode == "splice")
            spec.mode = PortForwardMode::Splice;
        else if (*mode == "slirp")
            spec.mode = PortForwardMode::Slirp;
        else
            return fail(err, api_error::kBadMode);
    }
    if (spec.mode == PortForwardMode::Slirp && !one_family)
        return fail(err, api_error::kBadGuestAddr);
    return true;
}

bool parse_remove_hostfwd(const json& args, ApiRequest* request, std::string* err) {
    const json* id = member(args, "id");
    if (id == nullptr) return fail(err, api_error::kBadId);
    // Ids above 2^53 cannot be told apart once a client stores them as doubles.
    auto v = integral(*id, 1, uint64_t{1} << 53);
    if (!v) return fail(err, api_error::kBadId);
    request->command = ApiCommand::RemoveHostfwd;
    request->remove_id = *v;
    return true;
}

std::string dump(const ordered_json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

FrameState frame_state(std::string_view bytes, bool eof) {
    if (bytes.size() >= kApiMaxRequest) return FrameState::TooLarge;
    if (eof) return FrameState::Complete;
    size_t start = 0;
    while (start < bytes.size() && is_json_space(bytes[start])) start++;
    if (start == bytes.size()) return FrameState::Incomplete;
    char first = bytes[start];
    if (first == '{' || first == '[' || first == '"')
        return container_closes(bytes, start) ? FrameState::Complete : FrameState::Incomplete;
    // A bare number or literal may still grow ("1" -> "12"): wait for the
    // half-close. Anything else can never become JSON: answer at once.
    bool may_be_scalar = first == '-' || (first >= '0' && first <= '9') || first == 't' ||
                         first == 'f' || first == 'n';
    return may_be_scalar ? FrameState::Incomplete : FrameState::Complete;
}

bool IpAddress::is_any() const {
    if (family == AF_INET) return v4.s_addr == htonl(INADDR_ANY);
    return std::memcmp(&v6, &in6addr_any, sizeof v6) == 0;
}

bool IpAddress::is_loopback() const {
    return family == AF_INET ? ::is_loopback(v4) : ::is_loopback(v6);
}

bool IpAddress::operator==(const IpAddress& other) const {
    if (family != other.family) return false;
    if (family == AF_INET) return v4.s_addr == other.v4.s_addr;
    return std::memcmp(&v6, &other.v6, sizeof v6) == 0;
}

std::optional<IpAddress> parse_ip_address(const std::string& text, bool allow_ipv6) {
    // inet_pton stops at a NUL; an embedded one would make the shown text lie.
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN || text.find('\0') != std::string::npos)
        return std::nullopt;
    IpAddress address;
    if (inet_pton(AF_INET, text.c_str(), &address.v4) == 1) return address;
    if (allow_ipv6 && inet_pton(AF_INET6, text.c_str(), &address.v6) == 1) {
        address.family = AF_INET6;
        return address;
    }
    return std::nullopt;
}

bool parse_request(std::string_view bytes, const RequestDefaults& defaults, ApiRequest* request,
                   std::string* err) {
    *request = ApiRequest{};
    json root = json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (root.is_discarded()) return fail(err, api_error::kCannotParse);
    const json* execute = member(root, "execute");
    if (execute == nullptr || !execute->is_string()) return fail(err, api_error::kNoExecute);
    static const json kNoArguments = json::object();
    const json* args = member(root, "arguments");
    if (args == nullptr) args = &kNoArguments;
    const auto& name = execute->get_ref<const std::string&>();
    if (name == "add_hostfwd") return parse_add_hostfwd(*args, defaults, request, err);
    if (name == "remove_hostfwd") return parse_remove_hostfwd(*args, request, err);
    if (name == "list_hostfwd") {
        request->command = ApiCommand::ListHostfwd;
    } else if (name == "get_stats") {
        request->command = ApiCommand::GetStats;
    } else {
        return fail(err, api_error::kUnknownExecute);
    }
    return true;
}

const HostfwdEntry* HostfwdTable::conflicting(const HostfwdSpec& spec) const {
    for (const auto& e : entries_) {
        const HostfwdSpec& s = e.spec;
        if (s.udp != spec.udp || s.host_port != spec.host_port) continue;
        if (s.host_addr.family != spec.host_addr.family) continue;
        if (s.host_addr == spec.host_addr || s.host_addr.is_any() || spec.host_addr.is_any())
            return &e;
    }
    return nullptr;
}

uint64_t HostfwdTable::add(const HostfwdSpec& spec) {
    uint64_t id = next_id_++;
    entries_.push_back({id, spec});
    return id;
}

const HostfwdEntry* HostfwdTable::find(uint64_t id) const {
    for (const auto& e : entries_)
        if (e.id == id) return &e;
    return nullptr;
}

bool HostfwdTable::remove(uint64_t id) {
    return std::erase_if(entries_, [id](const HostfwdEntry& e) { return e.id == id; }) > 0;
}

std::string duplicate_error(uint64_t existing_id) {
    return "bad request: add_hostfwd: duplicate of forward id " + std::to_string(existing_id) +
           " (same proto, host_addr and host_port)";
}

std::string format_error(const std::string& desc) {
    ordered_json reply;
    reply["error"]["desc"] = desc;
    return dump(reply);
}

std::string format_added(uint64_t id) {
    ordered_json reply;
    reply["return"]["id"] = id;
    return dump(reply);
}

std::string format_empty_return() {
    ordered_json reply;
    reply["return"] = ordered_json::object();
    return dump(reply);
}

std::string format_list(const HostfwdTable& table) {
    ordered_json entries = ordered_json::array();
    for (const auto& e : table.entries()) {
        ordered_json entry;
        entry["id"] = e.id;
        entry["proto"] = e.spec.udp ? "udp" : "tcp";
        entry["host_addr"] = e.spec.host_addr_text;
        entry["host_port"] = e.spec.host_port;
        entry["guest_addr"] = e.spec.guest_addr_text;
        entry["guest_port"] = e.spec.guest_port;
        // slirp4netns's entries have no "mode": leaving it out for slirp
        // forwards keeps the reply byte for byte what its clients know.
        if (e.spec.mode == PortForwardMode::Splice) entry["mode"] = "splice";
        entries.push_back(std::move(entry));
    }
    ordered_json reply;
    reply["return"]["entries"] = std::move(entries);
    return dump(reply);
}

std::string format_stats(const Stats& stats, size_t active_forwards, uint64_t clients_dropped,
                         int64_t now_ms) {
    ordered_json r;
    r["frames_from_guest"] = stats.frames_from_guest;
    r["bytes_from_guest"] = stats.bytes_from_guest;
    r["frames_to_guest"] = stats.frames_to_guest;
    r["bytes_to_guest"] = stats.bytes_to_guest;
    r["frames_dropped"] = stats.frames_dropped;
    r["api_requests"] = stats.api_requests;
    r["api_failures"] = stats.api_failures;
    r["api_clients_dropped"] = clients_dropped;
    r["active_forwards"] = active_forwards;
    r["uptime_ms"] = std::max<int64_t>(0, now_ms - stats.started_ms);
    r["tcp_path"] = stats.kernel_tcp ? "kernel" : "slirp";
    r["sandbox"] = stats.sandbox;
    r["kernel_tcp_delivery"] = !stats.kernel_tcp       ? "none"
                               : stats.kernel.redirect ? "redirect"
                                                       : "bridge";
    r["kernel_tcp_listeners"] = stats.kernel.listeners;
    r["kernel_tcp_active"] = stats.kernel.active;
    r["kernel_tcp_total"] = stats.kernel.total;
    r["kernel_tcp_refused"] = stats.kernel.refused;
    r["kernel_tcp_failed"] = stats.kernel.failed;
    r["kernel_tcp_bytes_from_guest"] = stats.kernel.bytes_from_guest;
    r["kernel_tcp_bytes_to_guest"] = stats.kernel.bytes_to_guest;
    r["dns_forwarder"] = stats.dns_forwarder;
    r["dns_queries"] = stats.dns.queries;
    r["dns_answers"] = stats.dns.answers;
    r["dns_failovers"] = stats.dns.failovers;
    r["dns_servfails"] = stats.dns.servfails;
    r["dns_dropped"] = stats.dns.dropped;
    const KernelUdpCounters udp = stats.udp ? *stats.udp : KernelUdpCounters{};
    r["udp_path"] = stats.kernel_udp ? "kernel" : "slirp";
    r["kernel_udp_delivery"] = !stats.kernel_udp ? "none" : stats.udp_redirect ? "redirect" : "tap";
    r["kernel_udp_flows"] = udp.flows;
    r["kernel_udp_datagrams_from_guest"] = udp.datagrams_from_guest;
    r["kernel_udp_datagrams_to_guest"] = udp.datagrams_to_guest;
    r["kernel_udp_bytes_from_guest"] = udp.bytes_from_guest;
    r["kernel_udp_bytes_to_guest"] = udp.bytes_to_guest;
    r["kernel_udp_dropped"] = udp.dropped;
    r["kernel_udp_gso_frames_to_guest"] = udp.gso_frames_to_guest;
    r["kernel_udp_runs_from_guest"] = udp.runs_from_guest;
    r["kernel_udp_frames_redirected"] = stats.udp_redirected_frames;
    r["kernel_udp_redirect_drops"] = stats.udp_redirect_drops;
    r["kernel_udp_ring_lingers"] = stats.udp_ring_lingers;
    ordered_json reply;
    reply["return"] = std::move(r);
    return dump(reply);
}
