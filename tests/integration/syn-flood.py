#!/usr/bin/env python3
# syn-flood.py IFACE COUNT [NET]: writes COUNT TCP SYNs onto IFACE (a guest's
# tap0) as fast as the tap takes them, from 10.0.2.100 to random ports of
# random addresses NET.1-254 (default 203.0.113), each from a random port with
# a random sequence number, addressed to the gateway's MAC (52:55:0a:00:02:02).
# Prints "sent COUNT" at the end. Used by kernel-tcp-flood.sh and make bench.
import errno
import random
import socket
import sys

import frames

count = int(sys.argv[2])
net = sys.argv[3] if len(sys.argv) > 3 else "203.0.113"
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
mac = s.getsockname()[4]
gateway_mac = bytes.fromhex("52550a000202")
src = socket.inet_aton("10.0.2.100")
for i in range(count):
    dst = socket.inet_aton("%s.%d" % (net, random.randint(1, 254)))
    segment = frames.tcp(src, dst, random.randint(1024, 65535), random.randint(1, 65535),
                         random.getrandbits(32), 0, frames.TCP_SYN, window=64240)
    frame = frames.eth(gateway_mac, mac, frames.ETH_IPV4,
                       frames.ipv4(6, src, dst, segment, ident=i & 0xFFFF))
    while True:
        try:
            s.send(frame)
            break
        except BlockingIOError:
            pass
        except OSError as e:
            if e.errno != errno.ENOBUFS:  # the tap's queue is full: try again
                raise
print("sent", count, flush=True)
