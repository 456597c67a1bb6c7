#!/usr/bin/python3
# rusage.py - runs a command and writes one line "WALL USER SYS MAXRSS" to
# OUTFILE: wall seconds, CPU seconds in user and kernel mode of the command
# and of every descendant it waited for (wait4's rusage, microsecond
# resolution), and the peak resident set of the largest of them in KiB.
# Exits with the command's status (128 + N when killed by signal N).
#
# The peak resident set is taken from GNU time (/usr/bin/time, Debian
# package "time") when it is there: a process started from this Python
# inherits Python's peak at exec (Linux keeps the larger of the old and new
# peaks), which would put a floor of ~8 MiB under every figure.
#
# Usage: rusage.py OUTFILE CMD [ARGS...]
import os
import sys
import tempfile
import time

if len(sys.argv) < 3:
    sys.exit("usage: rusage.py OUTFILE CMD [ARGS...]")
out, argv = sys.argv[1], sys.argv[2:]
gnu_time = "/usr/bin/time"
rss_file = None
if os.access(gnu_time, os.X_OK):
    fd, rss_file = tempfile.mkstemp(prefix="rusage.")
    os.close(fd)
    argv = [gnu_time, "-q", "-f", "%M", "-o", rss_file] + argv
t0 = time.monotonic()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - t0
maxrss = ru.ru_maxrss
if rss_file is not None:
    try:
        with open(rss_file) as f:
            maxrss = int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        pass
    os.unlink(rss_file)
with open(out, "w") as f:
    f.write(f"{wall:.4f} {ru.ru_utime:.4f} {ru.ru_stime:.4f} {maxrss}\n")
if os.WIFSIGNALED(status):
    sys.exit(128 + os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
