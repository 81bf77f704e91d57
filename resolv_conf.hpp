// SPDX-License-Identifier: GPL-2.0-or-later
// resolv_conf.hpp owns what the DNS forwarder (dns_forwarder.hpp) takes from
// the host's resolv.conf: the nameservers, of either family, in file order,
// and the `options timeout:`, `attempts:` and `rotate` that say how to try
// them; and the stamp by which a change of the file is noticed.
//
// Why we parse it rather than let c-ares read it (ARES_OPT_RESOLVCONF): the
// forwarder rebuilds its c-ares channels whenever the file changes and
// reorders the servers to put the one that answered last first, so it needs
// the list itself; c-ares 1.18 would also read LOCALDOMAIN, RES_OPTIONS,
// nsswitch.conf and host.conf, none of which applies to forwarding a raw
// query. Only the lines above are read; search, domain, ndots and sortlist
// only matter to a resolver that builds its own queries.
//
// Defaults where the file says nothing, glibc's except the timeout: no
// nameserver means 127.0.0.1, as glibc and libslirp have it; the per-try
// timeout is 2 s rather than glibc's 5 s, so that a dead first nameserver is
// passed over before the guest's own resolver (5 s) gives up on its try;
// attempts 2. The parsing is pure and, with the stamp, unit-tested in
// tests/unit/test_resolv_conf.cpp; reading the file is a stat and a read,
// done when a query comes (see dns_forwarder.hpp).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct ResolverConfig {
    static constexpr int kDefaultTimeoutMs = 2000;
    static constexpr int kDefaultAttempts = 2;
    // glibc's bounds (RES_MAXRETRANS, RES_MAXRETRY).
    static constexpr int kMaxTimeoutS = 30;
    static constexpr int kMaxAttempts = 5;
    // More than any real file holds; bounds the channels' memory.
    static constexpr size_t kMaxServers = 32;

    std::vector<sockaddr_storage> servers;  // port 53
    int timeout_ms = kDefaultTimeoutMs;
    int attempts = kDefaultAttempts;
    bool rotate = false;
};

bool operator==(const ResolverConfig& a, const ResolverConfig& b);
bool same_address(const sockaddr_storage& a, const sockaddr_storage& b);

// The file's text as glibc reads it: `nameserver ADDRESS` (IPv4 or IPv6; a
// link-local address with a %scope is skipped, c-ares 1.18 cannot carry the
// scope), `options` words; `#` and `;` start comments; anything else is
// ignored, as by glibc.
ResolverConfig parse_resolv_conf(std::string_view text);

// Identity and version of the file a path leads to (symlinks followed): a
// rewrite in place changes mtime/ctime (in nanoseconds, so two rewrites in
// one second differ), a rename over or a retargeted symlink the inode.
struct FileStamp {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const FileStamp&) const = default;
};
FileStamp stamp_file(const std::string& path);

// Reads and parses the file; one that cannot be read reads as empty (so,
// 127.0.0.1, as glibc). *stamp is the file's stamp taken before reading, so
// a change while reading shows at the next look.
ResolverConfig read_resolv_conf(const std::string& path, FileStamp* stamp);
