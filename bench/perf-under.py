#!/usr/bin/env python3
"""perf-under.py - what a function's time is made of, from a perf profile.

usage: bench/perf-under.py PERF_DATA FUNCTION [DEPTH]

Reads the call-graph samples of PERF_DATA (record them with call graphs
that reach through the libraries: `perf record -F 999 --call-graph
dwarf,16384 -p PID -- sleep 6`) and prints the share of all samples whose
stack passes through FUNCTION, then that share split by the DEPTH
(default 2) callees under it: "ra_finalize > signer_issue > X509_sign".
A frame perf could not name is shown as ?LIBRARY.  Where FUNCTION recurses,
a sample counts once, under its outermost call.  Percentages are of all
samples, so they add up with perf report's.
"""
import collections
import signal
import subprocess
import sys


def stacks(data):
    """Yields each sample's stack, outermost frame first."""
    out = subprocess.run(
        ['perf', 'script', '-i', data, '-F', 'comm,tid,ip,sym,dso'],
        capture_output=True, text=True, check=True).stdout
    frames = []
    for line in out.splitlines():
        if not line.strip() or not line[0].isspace():
            # A blank line ends a sample; a line at column 0 starts one.
            if frames:
                yield frames[::-1]
            frames = []
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        sym, _, dso = parts[1].rpartition(' (')
        if sym.startswith('[unknown]') or not sym:
            sym = '?' + dso.rstrip(')').rsplit('/', 1)[-1]
        frames.append(sym)
    if frames:
        yield frames[::-1]


def main():
    # Piped into head: stop quietly.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split('\n\n')[1])
    data, func = sys.argv[1], sys.argv[2]
    depth = int(sys.argv[3]) if len(sys.argv) == 4 else 2
    total = under = 0
    paths = collections.Counter()
    for st in stacks(data):
        total += 1
        if func not in st:
            continue
        under += 1
        i = st.index(func)
        paths[' > '.join(st[i + 1:i + 1 + depth]) or '(self)'] += 1
    if total == 0:
        sys.exit('perf-under: no samples in ' + data)
    print(f'{func}: {100 * under / total:.2f}% of {total} samples')
    for path, n in paths.most_common(40):
        print(f'{100 * n / total:6.2f}%  {path}')


if __name__ == '__main__':
    main()
