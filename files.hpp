// SPDX-License-Identifier: GPL-2.0-or-later
// files.hpp owns the two small file-system chores the daemon has: writing a
// short text into a /proc or /sys file, and resolving a symlink target
// against the link's directory. They are written with plain syscalls and
// strings on purpose: std::ofstream and std::filesystem would link the
// iostream and locale machinery into the static libstdc++, which tripled
// the binary and added ~300 KB to an idle daemon's resident memory.
#pragma once

#include <string>

// Writes `text` to the existing file at `path` (no O_CREAT) in one write.
bool write_file(const std::string& path, const std::string& text, std::string* err);

// Where a symlink at `link` that points to `target` leads, as a normalized
// absolute path: a relative target starts from the link's directory, "."
// and empty components vanish, ".." climbs (never above "/"). Purely
// lexical, like std::filesystem::path::lexically_normal. `link` must be
// absolute when `target` is relative.
std::string resolve_link_target(const std::string& link, const std::string& target);
