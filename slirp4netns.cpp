// SPDX-License-Identifier: GPL-2.0-or-later
// slirp4netns.cpp holds main(): the command line, --help and --version, and
// then the daemon (daemon.hpp), which owns everything else.
#include <libslirp.h>
#include <seccomp.h>
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "daemon.hpp"
#include "error.hpp"
#include "options.hpp"

#ifndef SLIRP4NETNS_VERSION
#define SLIRP4NETNS_VERSION "unknown"
#endif
#ifndef SLIRP4NETNS_COMMIT
#define SLIRP4NETNS_COMMIT "unknown"
#endif

namespace {

void print_version() {
    std::printf("slirp4netns version %s\n", SLIRP4NETNS_VERSION);
    std::printf("commit: %s\n", SLIRP4NETNS_COMMIT);
    std::printf("libslirp: %s\n", slirp_version_string());
    std::printf("SLIRP_CONFIG_VERSION_MAX: %d\n", SLIRP_CONFIG_VERSION_MAX);
    const scmp_version* v = seccomp_version();
    std::printf("libseccomp: %u.%u.%u\n", v->major, v->minor, v->micro);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    Options options;
    std::string error;
    if (!parse_options(args, &options, &error)) {
        log_error(error);
        return 1;
    }
    if (options.action == Action::Help) {
        std::fputs(help_text(argv[0]).c_str(), stdout);
        return 0;
    }
    if (options.action == Action::Version) {
        print_version();
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    return run_daemon(options);
}
