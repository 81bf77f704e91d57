// SPDX-License-Identifier: GPL-2.0-or-later
// fin_wait2_fence.cpp: ending host sockets libslirp leaves in FIN_WAIT2 (see
// fin_wait2_fence.hpp).
#include "fin_wait2_fence.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>

std::vector<int> FinWait2Fence::expired(std::span<const Observation> now_in_fin_wait2,
                                        int64_t now_ms, int64_t limit_ms) {
    std::vector<Seen> still;
    std::vector<int> ended;
    for (const Observation& o : now_in_fin_wait2) {
        auto before = std::find_if(seen_.begin(), seen_.end(), [&](const Seen& s) {
            return s.fd == o.fd && s.inode == o.inode;
        });
        int64_t since = before == seen_.end() ? now_ms : before->since_ms;
        if (now_ms - since >= limit_ms && o.since_data_ms >= limit_ms) {
            ended.push_back(o.fd);
            continue;
        }
        still.push_back({o.fd, o.inode, since});
    }
    seen_ = std::move(still);
    return ended;
}

size_t FinWait2Fence::sweep(std::span<const int> fds, int64_t now_ms) {
    std::vector<Observation> in_fin_wait2;
    for (int fd : fds) {
        tcp_info info{};
        socklen_t length = sizeof info;
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) < 0) continue;  // not TCP
        if (info.tcpi_state != TCP_FIN_WAIT2) continue;
        struct stat st {};
        if (fstat(fd, &st) < 0) continue;
        in_fin_wait2.push_back({fd, st.st_ino, info.tcpi_last_data_recv});
    }
    std::vector<int> ended = expired(in_fin_wait2, now_ms);
    for (int fd : ended) shutdown(fd, SHUT_RD);
    return ended.size();
}
