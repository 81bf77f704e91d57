// SPDX-License-Identifier: GPL-2.0-or-later
// packet_capture.hpp owns --pcap: a copy of every frame that crosses the
// guest's device (the tap, a tap FD or the BESS client), both ways, written
// with a timestamp through libpcap's dump API as an Ethernet capture that
// tcpdump and Wireshark read.
//
// libpcap is loaded only when a capture is asked for: linked in, it and the
// libraries it pulls (D-Bus, systemd, gcrypt, three compressors) cost every
// daemon about 1.2 MiB of resident memory and a millisecond of start-up.
//
// The file is opened at start-up, before confinement, so the sandbox and
// seccomp leave the capture working. Frames go into a stdio buffer of ours
// and reach the file when it fills or on a flush a moment after the first
// frame since the last: no write per frame, and `tcpdump -r` sees a running
// daemon's frames within a quarter of a second. A write that fails (a full
// disk, a reader of a pipe that fell behind) ends the capture with one
// logged line; traffic never waits for the file nor stops because of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "event_loop.hpp"

struct pcap;
struct pcap_dumper;

class PacketCapture {
   public:
    // Creates or truncates `path` (mode 0600: a capture holds the guest's
    // traffic) and writes the capture's header.
    static bool open(const std::string& path, EventLoop& loop, std::unique_ptr<PacketCapture>* out,
                     std::string* err);
    ~PacketCapture();
    PacketCapture(const PacketCapture&) = delete;
    PacketCapture& operator=(const PacketCapture&) = delete;

    // One whole frame as it crossed the device (no virtio-net header).
    void write(const uint8_t* frame, size_t len);
    bool capturing() const { return dumper_ != nullptr; }

   private:
    struct Library;
    PacketCapture(EventLoop& loop, std::string path);
    void flush();
    void stop(int error);
    void close();

    EventLoop& loop_;
    std::string path_;
    std::unique_ptr<Library> pcap_;
    std::unique_ptr<char[]> buffer_;  // the stream's; outlives it
    pcap* dead_ = nullptr;            // names the link type and snapshot length
    pcap_dumper* dumper_ = nullptr;   // owns the stream
    std::FILE* stream_ = nullptr;     // dumper_'s, whose error flag tells a failed write
    int64_t wall_minus_loop_ns_ = 0;  // turns the loop's clock into wall time
    EventLoop::TimerId flush_timer_ = 0;
};
