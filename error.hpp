// SPDX-License-Identifier: GPL-2.0-or-later
// error.hpp owns the program's one error convention: a function that can
// fail returns bool and, on failure, leaves one line naming the problem in
// its `std::string* err` argument; whoever gives up logs it, as one line.
#pragma once

#include <cerrno>
#include <string>

// "what: strerror(error)", the form every failed system call is reported in:
// by default the errno it left, or one it returned (netlink, libseccomp).
std::string errno_text(const std::string& what, int error = errno);

// A socket's pending error (SO_ERROR: how a non-blocking connect ended),
// or errno when it cannot be read.
int socket_error(int fd);

// Writes "slirp4netns: LINE" to stderr, control characters escaped: errors
// quote what they were given (paths, option words), which may hold newlines
// or escapes, and each must stay one printable line.
void log_error(const std::string& line);

// Sets *err (when err is not null) and returns false, so that a failure
// reads `return fail(err, "...")`.
inline bool fail(std::string* err, std::string text) {
    if (err) *err = std::move(text);
    return false;
}

// For the few callers that act on a failure's cause, telling a passing
// condition (EADDRNOTAVAIL while an IPv6 address is still tentative) from a
// final one: the one line and the errno behind it (0 when no system call
// failed). It is filled as a string is: `return fail(err, "...", ENOENT)`.
struct Failure {
    std::string text;
    int error_number = 0;
};
inline bool fail(Failure* err, std::string text, int error_number = 0) {
    if (err) *err = {std::move(text), error_number};
    return false;
}
// fail() with errno_text(what) and the errno behind it.
inline bool fail_errno(Failure* err, const std::string& what) {
    int error = errno;
    return fail(err, errno_text(what, error), error);
}
