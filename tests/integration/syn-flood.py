#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# syn-flood.py IFACE COUNT: delivers COUNT TCP SYNs through IFACE (a guest's
# tap0) to the daemon as fast as it reads them: from 10.0.2.100, each of a
# flow of its own (a distinct address in 203.0.113.1-254 and source port),
# to a random port, with a random sequence number, addressed to the gateway's
# MAC (52:55:0a:00:02:02). The tap drops what the daemon has not read yet
# once its queue (1000 frames) is full, so the flood keeps at most 500
# unread, going by the tap's counters, and sends a fresh SYN for any dropped
# all the same; it gives up if the daemon stops reading. Prints "sent S dropped D
# delivered COUNT" at the end. Used by kernel-tcp-flood.sh and make bench.
import errno
import random
import socket
import sys
import time

import frames

FLOWS_PER_ADDRESS = 65536 - 1024  # source ports 1024-65535


def tap_counters(iface):
    """Frames the daemon has read from IFACE, and frames dropped unread."""
    with open("/proc/net/dev") as f:  # this namespace's
        for line in f:
            name, _, counters = line.partition(":")
            if name.strip() == iface:
                c = counters.split()
                return int(c[9]), int(c[11])
    raise SystemExit(f"no {iface} in /proc/net/dev")


iface, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
mac = s.getsockname()[4]
gateway_mac = bytes.fromhex("52550a000202")
src = socket.inet_aton("10.0.2.100")
# Twice as many flows as SYNs: enough for the resent ones.
flows = iter(random.sample(range(254 * FLOWS_PER_ADDRESS), 2 * count))


def send_syn(i):
    flow = next(flows)
    dst = bytes([203, 0, 113, 1 + flow // FLOWS_PER_ADDRESS])
    segment = frames.tcp(src, dst, 1024 + flow % FLOWS_PER_ADDRESS, random.randint(1, 65535),
                         random.getrandbits(32), 0, frames.TCP_SYN, window=64240)
    frame = frames.eth(gateway_mac, mac, frames.ETH_IPV4,
                       frames.ipv4(6, src, dst, segment, ident=i & 0xFFFF))
    while True:
        try:
            s.send(frame)
            return
        except BlockingIOError:
            pass
        except OSError as e:
            if e.errno != errno.ENOBUFS:  # the tap's queue is full: try again
                raise


read0, dropped0 = tap_counters(iface)
sent = delivered = 0
last_read, last_progress = read0, time.monotonic()
while delivered < count:
    read, dropped = tap_counters(iface)
    delivered = sent - (dropped - dropped0)
    if read != last_read:
        last_read, last_progress = read, time.monotonic()
    elif time.monotonic() - last_progress > 30:
        sys.exit(f"the daemon stopped reading its tap after {delivered} SYNs")
    if delivered - (read - read0) > 500:
        time.sleep(0.0005)
        continue
    for _ in range(min(250, count - delivered)):
        send_syn(sent)
        sent += 1
    delivered = sent - (tap_counters(iface)[1] - dropped0)
print("sent", sent, "dropped", sent - delivered, "delivered", delivered, flush=True)
