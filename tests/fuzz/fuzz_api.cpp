// SPDX-License-Identifier: GPL-2.0-or-later
// fuzz_api.cpp: libFuzzer target for the API request path without a socket:
// bytes arrive in chunks (partial requests), frame_state decides when a
// request is whole or too large, the request is parsed and applied to a
// forward table, and a reply is formatted, exactly in the order api.cpp's
// server does it. libslirp is left out: the table is the API's own state.
//
// Input: byte 0 = chunk size - 1 (1..256 bytes per read) and then requests,
// one per connection, separated by the two bytes 00 FF. Checked beyond "no
// crash": a decision never waits once the client half-closed, TooLarge comes
// exactly at the size limit, and every reply is one JSON object holding
// exactly one of "return" and "error".
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api_request.hpp"

namespace {

void check(bool ok, const char* what, std::string_view context) {
    if (ok) return;
    std::fprintf(stderr, "invariant violated: %s (%.*s)\n", what, static_cast<int>(context.size()),
                 context.data());
    std::abort();
}

std::string apply(const ApiRequest& request, HostfwdTable& table) {
    switch (request.command) {
        case ApiCommand::AddHostfwd:
            if (const HostfwdEntry* existing = table.conflicting(request.hostfwd))
                return format_error(duplicate_error(existing->id));
            return format_added(table.add(request.hostfwd));
        case ApiCommand::RemoveHostfwd:
            if (!table.remove(request.remove_id)) return format_error(api_error::kRemoveFailed);
            return format_empty_return();
        case ApiCommand::ListHostfwd:
            return format_list(table);
        case ApiCommand::GetStats:
            return format_stats(Stats{}, table.entries().size(), 0, 0);
    }
    return format_error(api_error::kUnknownExecute);
}

// One connection: returns the reply the server would send.
std::string serve(std::string_view request, size_t chunk, const RequestDefaults& defaults,
                  HostfwdTable& table) {
    std::string in;
    size_t pos = 0;
    FrameState state = FrameState::Incomplete;
    while (state == FrameState::Incomplete) {
        // The server never reads past the limit, so neither do we.
        size_t room = kApiMaxRequest - in.size();
        size_t n = std::min({chunk, room, request.size() - pos});
        in.append(request.substr(pos, n));
        pos += n;
        bool eof = n == 0;
        state = frame_state(in, eof);
        check(!(eof && state == FrameState::Incomplete), "waits after the half-close", in);
        check((state == FrameState::TooLarge) == (in.size() >= kApiMaxRequest),
              "TooLarge disagrees with the size", in);
    }
    if (state == FrameState::TooLarge) return format_error(api_error::kTooLarge);
    ApiRequest parsed;
    std::string error;
    if (!parse_request(in, defaults, &parsed, &error)) {
        check(!error.empty(), "refused without a desc", in);
        return format_error(error);
    }
    return apply(parsed, table);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    size_t chunk = size_t{data[0]} + 1;
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    RequestDefaults defaults;
    inet_pton(AF_INET, "10.0.2.100", &defaults.guest_addr);
    defaults.ipv6 = (data[0] & 1) != 0;
    HostfwdTable table;
    for (;;) {
        size_t end = rest.find(std::string_view("\0\xff", 2));
        std::string_view request = rest.substr(0, end);
        std::string reply = serve(request, chunk, defaults, table);
        auto json = nlohmann::json::parse(reply, nullptr, false);
        check(!json.is_discarded() && json.is_object(), "reply is not a JSON object", reply);
        check(json.contains("return") != json.contains("error"),
              "reply holds neither or both of return and error", reply);
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 2);
    }
    return 0;
}
