// SPDX-License-Identifier: GPL-2.0-or-later
// files.cpp: small file-system chores without iostreams (see files.hpp).
#include "files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "error.hpp"
#include "unique_fd.hpp"

bool write_file(const std::string& path, const std::string& text, std::string* err) {
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return fail(err, errno_text("cannot open " + path));
    ssize_t n = write(fd.get(), text.data(), text.size());
    if (n < 0) return fail(err, errno_text("cannot write " + path));
    if (n != static_cast<ssize_t>(text.size()))
        return fail(err, "cannot write " + path + ": short write");
    return true;
}

std::string resolve_link_target(const std::string& link, const std::string& target) {
    std::string joined = target;
    if (target.empty() || target[0] != '/') joined = link.substr(0, link.rfind('/') + 1) + target;
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= joined.size()) {
        size_t end = joined.find('/', start);
        if (end == std::string::npos) end = joined.size();
        std::string part = joined.substr(start, end - start);
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        start = end + 1;
    }
    std::string path;
    for (const auto& part : parts) path += "/" + part;
    return path.empty() ? "/" : path;
}
