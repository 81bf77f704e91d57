// SPDX-License-Identifier: GPL-2.0-or-later
// packet_capture.cpp: --pcap through libpcap's dump API, with libpcap
// loaded when a capture starts (see packet_capture.hpp).
#include "packet_capture.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "unique_fd.hpp"

namespace {

// tcpdump's own default: the largest frame the device carries (a 64 KiB
// segment the kernel cuts, with its headers) is kept whole.
constexpr int kSnapshotLength = 262144;
// A burst of small frames is one write; a flush stays short.
constexpr size_t kBufferSize = 64 * 1024;
// How long a frame may wait in the buffer for company.
constexpr int64_t kFlushDelayMs = 250;
// Debian's soname, then upstream's.
constexpr const char* kLibraryNames[] = {"libpcap.so.0.8", "libpcap.so.1"};

}  // namespace

struct PacketCapture::Library {
    std::unique_ptr<void, int (*)(void*)> handle{nullptr, dlclose};
    decltype(&pcap_open_dead) open_dead = nullptr;
    decltype(&pcap_close) close = nullptr;
    decltype(&pcap_geterr) geterr = nullptr;
    decltype(&pcap_dump_fopen) dump_fopen = nullptr;
    decltype(&pcap_dump) dump = nullptr;
    decltype(&pcap_dump_flush) dump_flush = nullptr;
    decltype(&pcap_dump_close) dump_close = nullptr;

    bool load(std::string* err) {
        std::string why = "not found";
        for (const char* name : kLibraryNames) {
            handle.reset(dlopen(name, RTLD_NOW | RTLD_LOCAL));
            if (handle) break;
            if (const char* text = dlerror()) why = text;
        }
        if (!handle) return fail(err, "--pcap needs libpcap (" + why + ")");
        return find(open_dead, "pcap_open_dead", err) && find(close, "pcap_close", err) &&
               find(geterr, "pcap_geterr", err) && find(dump_fopen, "pcap_dump_fopen", err) &&
               find(dump, "pcap_dump", err) && find(dump_flush, "pcap_dump_flush", err) &&
               find(dump_close, "pcap_dump_close", err);
    }

    template <typename Function>
    bool find(Function& function, const char* name, std::string* err) {
        function = reinterpret_cast<Function>(dlsym(handle.get(), name));
        return function || fail(err, std::string("--pcap: the libpcap found lacks ") + name);
    }
};

PacketCapture::PacketCapture(EventLoop& loop, std::string path)
    : loop_(loop), path_(std::move(path)) {}

bool PacketCapture::open(const std::string& path, EventLoop& loop,
                         std::unique_ptr<PacketCapture>* out, std::string* err) {
    const std::string what = "packet capture file \"" + path + "\"";
    // Non-blocking, for a pipe: a reader that falls behind ends the capture
    // instead of stalling the loop. A regular file ignores the flag.
    UniqueFd fd(::open(path.c_str(),
                       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600));
    if (!fd) return fail(err, errno_text("cannot open " + what));
    std::unique_ptr<PacketCapture> capture(new PacketCapture(loop, path));
    capture->pcap_ = std::make_unique<Library>();
    Library& pcap = *capture->pcap_;
    if (!pcap.load(err)) return false;
    capture->dead_ = pcap.open_dead(DLT_EN10MB, kSnapshotLength);
    if (!capture->dead_) return fail(err, "--pcap: libpcap cannot make a capture handle");
    std::FILE* stream = fdopen(fd.get(), "w");
    if (!stream) return fail(err, errno_text("cannot write " + what));
    fd.release();
    capture->buffer_ = std::make_unique_for_overwrite<char[]>(kBufferSize);
    setvbuf(stream, capture->buffer_.get(), _IOFBF, kBufferSize);
    capture->dumper_ = pcap.dump_fopen(capture->dead_, stream);
    // With an Ethernet handle its one failure is the header's write, after
    // which it has closed the stream itself.
    if (!capture->dumper_)
        return fail(err, "cannot write " + what + ": " + pcap.geterr(capture->dead_));
    capture->stream_ = stream;
    // The header now: a file that cannot take it fails at start-up.
    if (pcap.dump_flush(capture->dumper_) != 0) {
        std::string why = errno_text("cannot write " + what);
        capture->close();  // quietly: this line is the one to report
        return fail(err, why);
    }
    // Frames are stamped by the loop's clock, turned into the wall time that
    // pcap files hold.
    timespec wall{};
    clock_gettime(CLOCK_REALTIME, &wall);
    capture->wall_minus_loop_ns_ = wall.tv_sec * 1000000000LL + wall.tv_nsec - loop.clock_ns();
    *out = std::move(capture);
    return true;
}

PacketCapture::~PacketCapture() {
    if (dumper_) flush();
    close();
}

[[gnu::hot]] void PacketCapture::write(const uint8_t* frame, size_t len) {
    if (!dumper_) return;
    int64_t ns = loop_.clock_ns() + wall_minus_loop_ns_;
    pcap_pkthdr header{};
    header.ts.tv_sec = static_cast<time_t>(ns / 1000000000);
    header.ts.tv_usec = static_cast<suseconds_t>(ns % 1000000000 / 1000);
    header.len = static_cast<bpf_u_int32>(len);
    header.caplen = static_cast<bpf_u_int32>(std::min(len, static_cast<size_t>(kSnapshotLength)));
    pcap_->dump(reinterpret_cast<u_char*>(dumper_), &header, frame);
    // pcap_dump reports nothing; the stream keeps the error of a write that
    // failed while a full buffer went out.
    if (ferror_unlocked(stream_)) {
        stop(errno);
        return;
    }
    if (!flush_timer_)
        flush_timer_ = loop_.add_timer(loop_.clock_ms() + kFlushDelayMs, [this] {
            flush_timer_ = 0;
            flush();
        });
}

void PacketCapture::flush() {
    if (dumper_ && pcap_->dump_flush(dumper_) != 0) stop(errno);
}

void PacketCapture::stop(int error) {
    log_error("packet capture to \"" + path_ + "\" stopped: " + errno_text("cannot write", error) +
              " (traffic goes on)");
    close();
}

void PacketCapture::close() {
    if (flush_timer_) loop_.cancel_timer(flush_timer_);
    flush_timer_ = 0;
    // After a failed write, what the buffer still holds may be tried once
    // more; it fails the same way.
    if (dumper_) pcap_->dump_close(dumper_);
    dumper_ = nullptr;
    stream_ = nullptr;
    if (dead_) pcap_->close(dead_);
    dead_ = nullptr;
}
