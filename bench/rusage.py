#!/usr/bin/python3
# rusage.py - runs a command and writes one line "WALL USER SYS MAXRSS" to
# OUTFILE: wall seconds, CPU seconds in user and kernel mode of the command
# and of every descendant it waited for (wait4's rusage, microsecond
# resolution), and the peak resident set of the largest of them in KiB.
# Exits with the command's status (128 + N when killed by signal N).
#
# Usage: rusage.py OUTFILE CMD [ARGS...]
import os
import sys
import time

if len(sys.argv) < 3:
    sys.exit("usage: rusage.py OUTFILE CMD [ARGS...]")
out, argv = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - t0
with open(out, "w") as f:
    f.write(f"{wall:.4f} {ru.ru_utime:.4f} {ru.ru_stime:.4f} {ru.ru_maxrss}\n")
if os.WIFSIGNALED(status):
    sys.exit(128 + os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
