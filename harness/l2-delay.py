#!/usr/bin/env python3
"""Forwards Ethernet frames between two interfaces, each after a random delay.

Used by harness/netns.ts where the kernel has no tc netem: the path between the
host and a test's network namespace runs through a middle namespace in which
this process is the only link, so every frame in either direction waits
DELAY_MS +/- JITTER_MS (uniform) before it goes on, as netem's "delay D J" would
(frames may be reordered, as with netem). Checksums are filled in here, because
frames from a veth carry the checksum offload's partial sum. It exits when its
parent goes away.

usage: l2-delay.py IF_A IF_B DELAY_MS JITTER_MS
"""

import heapq
import os
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def fill_checksums(frame: bytes) -> bytes:
    """Recomputes the IPv4 TCP/UDP checksum (the sender's veth left a partial one)."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return frame
    ihl = (frame[14] & 0x0F) * 4
    total = struct.unpack("!H", frame[16:18])[0]
    proto = frame[23]
    l4 = 14 + ihl
    end = 14 + total
    if proto not in (6, 17) or end > len(frame) or struct.unpack("!H", frame[20:22])[0] & 0x3FFF:
        return frame  # not TCP/UDP, truncated, or a fragment
    off = l4 + (16 if proto == 6 else 6)
    if off + 2 > end:
        return frame
    seg = bytearray(frame[l4:end])
    seg[off - l4 : off - l4 + 2] = b"\0\0"
    pseudo = frame[26:34] + struct.pack("!BBH", 0, proto, len(seg))
    c = checksum(pseudo + bytes(seg))
    if proto == 17 and c == 0:
        c = 0xFFFF
    out = bytearray(frame)
    out[off : off + 2] = struct.pack("!H", c)
    return bytes(out)


def main() -> None:
    a, b, delay_ms, jitter_ms = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    socks = {}
    for name in (a, b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        socks[name] = s
    other = {socks[a]: socks[b], socks[b]: socks[a]}
    parent = os.getppid()
    queue: list = []
    seq = 0
    while True:
        now = time.monotonic()
        timeout = max(0.0, min(queue[0][0] - now, 0.5)) if queue else 0.5
        ready, _, _ = select.select(list(other), [], [], timeout)
        for s in ready:
            frame, addr = s.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue  # our own copy going out
            wait = max(0.0, delay_ms + random.uniform(-jitter_ms, jitter_ms)) / 1000
            seq += 1
            heapq.heappush(queue, (time.monotonic() + wait, seq, other[s], frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(fill_checksums(frame))
            except OSError:
                pass  # too large or the link went down: dropped, as a real link would
        if os.getppid() != parent:
            return


if __name__ == "__main__":
    main()
