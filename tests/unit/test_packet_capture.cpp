// SPDX-License-Identifier: GPL-2.0-or-later
// test_packet_capture.cpp: --pcap's writer (packet_capture.hpp): the file
// is a pcap capture of Ethernet frames as written (read back here field by
// field), frames wait in the buffer until the loop's flush, a path that
// cannot take the capture fails at once with one line, and a write that
// fails or would block ends the capture without blocking or crashing.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "packet_capture.hpp"
#include "unique_fd.hpp"

#include "cmocka.hpp"

namespace {

constexpr size_t kFileHeader = 24;
constexpr size_t kRecordHeader = 16;

struct TempDir {
    std::string path;
    TempDir() {
        char name[] = "/tmp/test_packet_capture.XXXXXX";
        assert_non_null(mkdtemp(name));
        path = name;
    }
    ~TempDir() {
        std::string command = "rm -rf '" + path + "'";
        if (std::system(command.c_str()) != 0) print_error("could not remove %s\n", path.c_str());
    }
};

std::vector<uint8_t> read_file(const std::string& path) {
    std::vector<uint8_t> data;
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    assert_true(fd.valid());
    uint8_t chunk[65536];
    ssize_t n;
    while ((n = read(fd.get(), chunk, sizeof chunk)) > 0) data.insert(data.end(), chunk, chunk + n);
    return data;
}

uint32_t u32(const std::vector<uint8_t>& data, size_t offset) {
    assert_true(offset + 4 <= data.size());
    uint32_t value;
    std::memcpy(&value, data.data() + offset, 4);
    return value;  // the writer's byte order, which is ours
}

int64_t wall_seconds() {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec;
}

std::vector<uint8_t> frame_of(size_t len, uint8_t seed) {
    std::vector<uint8_t> frame(len);
    for (size_t i = 0; i < len; i++) frame[i] = static_cast<uint8_t>(seed + i);
    return frame;
}

std::unique_ptr<PacketCapture> open_ok(const std::string& path, EventLoop& loop) {
    std::unique_ptr<PacketCapture> capture;
    std::string error;
    if (!PacketCapture::open(path, loop, &capture, &error))
        fail_msg("open %s: %s", path.c_str(), error.c_str());
    return capture;
}

// The header names Ethernet and a snapshot length that keeps a 64 KiB
// segment whole; each record carries its frame and the wall time; a frame
// beyond the snapshot length keeps its length, cut.
void writes_a_pcap_file(void**) {
    TempDir dir;
    std::string path = dir.path + "/c.pcap";
    EventLoop loop;
    auto small = frame_of(60, 1), huge = frame_of(300000, 7);
    int64_t before = wall_seconds();
    {
        auto capture = open_ok(path, loop);
        capture->write(small.data(), small.size());
        capture->write(huge.data(), huge.size());
    }
    int64_t after = wall_seconds();
    struct stat st {};
    assert_int_equal(stat(path.c_str(), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    auto data = read_file(path);
    assert_int_equal(data.size(), kFileHeader + kRecordHeader + 60 + kRecordHeader + 262144);
    assert_int_equal(u32(data, 0), 0xa1b2c3d4);  // microsecond timestamps
    assert_int_equal(data[4] | data[5] << 8, 2);
    assert_int_equal(data[6] | data[7] << 8, 4);
    assert_int_equal(u32(data, 16), 262144);
    assert_int_equal(u32(data, 20), 1);  // LINKTYPE_ETHERNET
    size_t at = kFileHeader;
    assert_in_range(u32(data, at), before, after);
    assert_true(u32(data, at + 4) < 1000000);
    assert_int_equal(u32(data, at + 8), 60);
    assert_int_equal(u32(data, at + 12), 60);
    assert_memory_equal(data.data() + at + kRecordHeader, small.data(), 60);
    at += kRecordHeader + 60;
    assert_in_range(u32(data, at), before, after);
    assert_int_equal(u32(data, at + 8), 262144);
    assert_int_equal(u32(data, at + 12), 300000);
    assert_memory_equal(data.data() + at + kRecordHeader, huge.data(), 262144);
}

// A frame is not written on its own (no write per frame), but the loop's
// flush brings it to the file while the capture goes on.
void flushes_from_the_loop(void**) {
    TempDir dir;
    std::string path = dir.path + "/c.pcap";
    EventLoop loop;
    auto capture = open_ok(path, loop);
    assert_int_equal(read_file(path).size(), kFileHeader);
    auto frame = frame_of(100, 3);
    capture->write(frame.data(), frame.size());
    assert_int_equal(read_file(path).size(), kFileHeader);
    // The bound only guards a hang.
    for (int i = 0; i < 500 && read_file(path).size() == kFileHeader; i++) {
        usleep(10000);
        loop.run_once();
    }
    assert_int_equal(read_file(path).size(), kFileHeader + kRecordHeader + 100);
    assert_true(capture->capturing());
}

// What cannot take the capture is refused at start-up, in one line naming it.
void refuses_what_cannot_take_it(void**) {
    EventLoop loop;
    std::unique_ptr<PacketCapture> capture;
    std::string error;
    assert_false(PacketCapture::open("/nonexistent-dir/c.pcap", loop, &capture, &error));
    assert_string_equal(
        error.c_str(),
        "cannot open packet capture file \"/nonexistent-dir/c.pcap\": No such file or directory");
    assert_false(PacketCapture::open("/dev/full", loop, &capture, &error));
    assert_string_equal(error.c_str(),
                        "cannot write packet capture file \"/dev/full\": No space left on device");
    assert_null(capture.get());
}

// A pipe whose reader stops reading fills: the capture ends there rather
// than block, and later frames are dropped quietly; so does one whose reader
// is gone (EPIPE; the daemon ignores SIGPIPE, as here).
void a_failed_write_ends_the_capture(void**) {
    signal(SIGPIPE, SIG_IGN);
    TempDir dir;
    std::string path = dir.path + "/fifo";
    assert_int_equal(mkfifo(path.c_str(), 0600), 0);
    EventLoop loop;
    auto frame = frame_of(1500, 5);
    for (bool reader_gone : {false, true}) {
        UniqueFd reader(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
        assert_true(reader.valid());
        auto capture = open_ok(path, loop);
        if (reader_gone) reader.reset();
        for (int i = 0; i < 200 && capture->capturing(); i++)
            capture->write(frame.data(), frame.size());
        assert_false(capture->capturing());
        capture->write(frame.data(), frame.size());
        assert_false(capture->capturing());
    }
}

}  // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(writes_a_pcap_file),
        cmocka_unit_test(flushes_from_the_loop),
        cmocka_unit_test(refuses_what_cannot_take_it),
        cmocka_unit_test(a_failed_write_ends_the_capture),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
