#!/usr/bin/python3
"""freeport.py - prints N distinct loopback ports, one a line, each free for
both TCP and UDP on 127.0.0.1 at the time of the check.

Usage: freeport.py [N]   (default 1)

The kernel picks a port for a TCP socket bound to port 0; the port is kept
only if a UDP socket can bind it too (the DNS mock uses both).  All sockets
stay open until every port is chosen, so the N ports are distinct.
"""
import socket
import sys


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    if n < 1 or n > 64:
        sys.exit("freeport.py: N must be 1..64")
    held = []
    ports = []
    tries = 0
    while len(ports) < n:
        tries += 1
        if tries > 200:
            sys.exit("freeport.py: no free port found")
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        held.append(t)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            u.close()
            continue
        held.append(u)
        ports.append(port)
    for s in held:
        s.close()
    for p in ports:
        print(p)


if __name__ == "__main__":
    main()
