// guest_frame.hpp owns the check every frame from the guest passes before it
// reaches slirp_input (the tap read path and the BESS path alike), kept apart
// so the frame fuzzer (tests/fuzz/fuzz_frames.cpp) runs the very same check.
//
// libslirp 4.7.0 (Debian 12) corrupts memory and crashes when the first
// fragment of a datagram to arrive is its last one (MF clear, offset > 0): a
// single such frame from an unprivileged guest kills the helper (found by
// fuzz_frames; regression input tests/fuzz/corpus/frames/crash-lone-last-
// fragment). Which fragment libslirp saw first cannot be known from outside,
// so IPv4 fragments are dropped altogether. Guests lose only IPv4 datagrams
// larger than the MTU (TCP never fragments; with podman's MTU of 65520 nothing
// does).
#pragma once

#include <cstddef>
#include <cstdint>

constexpr size_t kEthernetHeader = 14;

// False for a frame the daemon must not hand to libslirp.
inline bool guest_frame_acceptable(const uint8_t* frame, size_t length) {
    if (length < kEthernetHeader + 20) return true;  // libslirp drops these itself
    bool ipv4 = frame[12] == 0x08 && frame[13] == 0x00;
    if (!ipv4) return true;
    const uint8_t* ip = frame + kEthernetHeader;
    uint16_t flags_offset = static_cast<uint16_t>(ip[6] << 8 | ip[7]);
    bool more_fragments = (flags_offset & 0x2000) != 0;
    bool nonzero_offset = (flags_offset & 0x1fff) != 0;
    return !more_fragments && !nonzero_offset;
}
