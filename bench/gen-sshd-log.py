#!/usr/bin/env python3
"""Writes a large sshd syslog file for benchmarks, built from the shared
loghub OpenSSH log (2,000 real lines) repeated with increasing timestamps.

Repetition k keeps the original lines and their spacing in time, shifted by
k * (span + 60 s), so the whole file is in time order. Timestamps are RFC 3164
(no year); the file ends an hour before now, so the year rule of every reader
(the current year unless that lies in the future) gives each line its right
year, however many lines there are.

usage: gen-sshd-log.py LINES OUT [SOURCE]
"""
import datetime as dt
import os
import sys

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def parse(line):
    month = MONTHS.index(line[0:3]) + 1
    day, clock = int(line[4:6]), line[7:15]
    h, m, s = (int(x) for x in clock.split(":"))
    return (day * 86400 + h * 3600 + m * 60 + s, month), line[16:]


def main():
    lines_wanted, out = int(sys.argv[1]), sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    data = os.environ.get("PARRY_TESTDATA", os.path.join(here, "..", "..", "shared", "data"))
    source = sys.argv[3] if len(sys.argv) > 3 else os.path.join(data, "loghub/OpenSSH/OpenSSH_2k.log")
    base = []
    with open(source, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            (secs, _month), rest = parse(line)
            base.append((secs, rest.rstrip("\n")))
    first = base[0][0]
    offsets = [(s - first, rest) for s, rest in base]
    period = offsets[-1][0] + 60
    reps = -(-lines_wanted // len(offsets))
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start = now - dt.timedelta(seconds=reps * period + 3600)
    written = 0
    with open(out, "w", encoding="utf-8", errors="surrogateescape") as f:
        for k in range(reps):
            for off, rest in offsets:
                if written == lines_wanted:
                    break
                t = start + dt.timedelta(seconds=k * period + off)
                f.write(f"{MONTHS[t.month - 1]} {t.day:2d} {t:%H:%M:%S} {rest}\n")
                written += 1
    print(f"wrote {written} lines to {out} ({start:%Y-%m-%d} .. {start + dt.timedelta(seconds=reps * period):%Y-%m-%d})",
          file=sys.stderr)


if __name__ == "__main__":
    main()
