// SPDX-License-Identifier: GPL-2.0-or-later
// fin_wait2_fence.hpp owns ending host connections libslirp would hold in
// FIN_WAIT2 forever.
//
// When the guest closes a TCP connection, libslirp 4.7.0 shuts down the
// write side of its host socket (our FIN goes to the host peer) and then
// waits for the peer to close too. A peer that never does (a server waiting
// for more, a half-open peer) leaves the host socket in FIN_WAIT2 for good:
// the kernel only times out FIN_WAIT2 for sockets nobody holds, and libslirp
// holds it. The guest's kernel forgets its side after a minute, so nothing
// ever ends the pair; a long-running container collects them (reproduced
// with 4.7.0 in tests/integration/fin-wait2-fence.sh; libslirp 4.9.1/4.9.2
// added a linger timer for it).
//
// So the daemon looks at libslirp's sockets now and then: one that has been
// in FIN_WAIT2 for kLimitMs with no data from the peer in that time gets
// shutdown(SHUT_RD). libslirp then reads end-of-file, closes its side
// towards the guest (whose kernel answers a RST, or ACKs if it still knows
// the connection), and closes the socket; the kernel's own orphan timeout
// (tcp_fin_timeout) ends it from there. The limit is the linger time
// libslirp itself adopted in 4.9.1: a guest that half-closed and still
// waits, silently, for longer than that loses the answer.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

class FinWait2Fence {
   public:
    static constexpr int64_t kLimitMs = 120000;

    // One host socket seen in FIN_WAIT2: its fd, its inode (an fd may be
    // reused by another connection), and how long ago the peer last sent data.
    struct Observation {
        int fd;
        ino_t inode;
        int64_t since_data_ms;
    };

    // Given every socket in FIN_WAIT2 now, returns the fds to end: those seen
    // in FIN_WAIT2 (without a gap) for limit_ms, with no data for as long.
    // Sockets not in the list are forgotten.
    std::vector<int> expired(std::span<const Observation> now_in_fin_wait2, int64_t now_ms,
                             int64_t limit_ms = kLimitMs);

    // Looks at fds (libslirp's sockets), ends the expired ones with
    // shutdown(SHUT_RD), and returns how many it ended.
    size_t sweep(std::span<const int> fds, int64_t now_ms);

    size_t watched() const { return seen_.size(); }

   private:
    struct Seen {
        int fd;
        ino_t inode;
        int64_t since_ms;
    };
    std::vector<Seen> seen_;
};
