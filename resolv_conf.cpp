// SPDX-License-Identifier: GPL-2.0-or-later
// resolv_conf.cpp: the forwarder's view of resolv.conf (see resolv_conf.hpp).
#include "resolv_conf.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "unique_fd.hpp"

namespace {

// Nothing real comes close; a larger file is read this far.
constexpr size_t kMaxFileSize = 64 * 1024;

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
        size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') i++;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

bool parse_server(std::string_view word, sockaddr_storage* out) {
    std::string text(word);
    *out = {};
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    if (inet_pton(AF_INET, text.c_str(), &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(53);
        return true;
    }
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    if (inet_pton(AF_INET6, text.c_str(), &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(53);
        return true;
    }
    return false;
}

// "name:N" with N a decimal; clamped to [1, max].
bool option_value(std::string_view word, std::string_view name, int max, int* value) {
    if (word.substr(0, name.size()) != name) return false;
    std::string_view digits = word.substr(name.size());
    int v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || end != digits.data() + digits.size()) return false;
    *value = v < 1 ? 1 : v > max ? max : v;
    return true;
}

int64_t nanoseconds(const timespec& t) {
    return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

}  // namespace

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
    if (a.ss_family != b.ss_family) return false;
    if (a.ss_family == AF_INET) {
        const auto& x = reinterpret_cast<const sockaddr_in&>(a);
        const auto& y = reinterpret_cast<const sockaddr_in&>(b);
        return x.sin_addr.s_addr == y.sin_addr.s_addr && x.sin_port == y.sin_port;
    }
    if (a.ss_family == AF_INET6) {
        const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
        const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
        return std::memcmp(&x.sin6_addr, &y.sin6_addr, 16) == 0 && x.sin6_port == y.sin6_port;
    }
    return false;
}

bool operator==(const ResolverConfig& a, const ResolverConfig& b) {
    if (a.timeout_ms != b.timeout_ms || a.attempts != b.attempts || a.rotate != b.rotate ||
        a.servers.size() != b.servers.size())
        return false;
    for (size_t i = 0; i < a.servers.size(); i++)
        if (!same_address(a.servers[i], b.servers[i])) return false;
    return true;
}

ResolverConfig parse_resolv_conf(std::string_view text) {
    ResolverConfig c;
    while (!text.empty()) {
        size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        if (size_t comment = line.find_first_of("#;"); comment != std::string_view::npos)
            line = line.substr(0, comment);
        std::vector<std::string_view> w = words(line);
        if (w.empty()) continue;
        if (w[0] == "nameserver" && w.size() >= 2) {
            sockaddr_storage server;
            if (c.servers.size() < ResolverConfig::kMaxServers && parse_server(w[1], &server))
                c.servers.push_back(server);
        } else if (w[0] == "options") {
            for (size_t i = 1; i < w.size(); i++) {
                int seconds;
                if (option_value(w[i], "timeout:", ResolverConfig::kMaxTimeoutS, &seconds))
                    c.timeout_ms = seconds * 1000;
                else if (w[i] == "rotate")
                    c.rotate = true;
                else
                    option_value(w[i], "attempts:", ResolverConfig::kMaxAttempts, &c.attempts);
            }
        }
    }
    if (c.servers.empty()) parse_server("127.0.0.1", &c.servers.emplace_back());
    return c;
}

FileStamp stamp_file(const std::string& path) {
    struct stat st {};
    FileStamp s;
    if (stat(path.c_str(), &st) < 0) return s;
    s.exists = true;
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    s.size = st.st_size;
    s.mtime_ns = nanoseconds(st.st_mtim);
    s.ctime_ns = nanoseconds(st.st_ctim);
    return s;
}

ResolverConfig read_resolv_conf(const std::string& path, FileStamp* stamp) {
    *stamp = stamp_file(path);
    std::string text;
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd) {
        char buf[4096];
        ssize_t n;
        while (text.size() < kMaxFileSize && (n = read(fd.get(), buf, sizeof buf)) > 0)
            text.append(buf, static_cast<size_t>(n));
    }
    return parse_resolv_conf(text);
}
