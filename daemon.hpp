// SPDX-License-Identifier: GPL-2.0-or-later
// daemon.hpp owns the daemon's start-up order and lifetime: the --pcap file,
// the tap (or the BESS socket) and its offloads, libslirp and the packet
// path, the DNS forwarder, the banner, the kernel TCP path, the exit
// conditions (signals, exit-fd, the target process), the port-forwarding
// helper and the API socket, then confinement (sandbox, seccomp) and the
// ready-fd; then the event loop runs until one of the exit conditions.
// Every failure on the way is one line on stderr and exit 1.
#pragma once

#include "options.hpp"

// Returns the exit status.
int run_daemon(const Options& options);
