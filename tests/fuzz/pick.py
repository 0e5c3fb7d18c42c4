#!/usr/bin/python3
"""tests/fuzz/pick.py: the few found inputs worth keeping as seeds.

Usage: pick.py CONTROL N SEEDS

CONTROL is the control file of a libFuzzer merge (-merge=1
-merge_control_file=CONTROL SEEDS FOUND): it lists the seeds first, then
the found inputs, and for each the code it reached that nothing before it
in that order did ("COV idx pc..."). Copies into SEEDS the N found inputs
that reached the most new code (named by their SHA-1, as libFuzzer names
them) and prints how many it copied and how much new code they reach, so
that the committed corpus stays small while it keeps what the runs
learned.
"""
import hashlib
import os
import shutil
import sys


def main():
    control, n, seeds = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(control, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    total, first = int(lines[0]), int(lines[1])
    paths = lines[2:2 + total]
    new = {}
    for line in lines[2 + total:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "COV":
            idx = int(parts[1])
            if idx >= first:
                new[idx] = len(parts) - 2
    best = sorted((i for i in new if new[i] > 0),
                  key=lambda i: (-new[i], i))[:n]
    for i in best:
        with open(paths[i], "rb") as f:
            data = f.read()
        name = hashlib.sha1(data).hexdigest()
        shutil.copyfile(paths[i], os.path.join(seeds, name))
    print(f"{seeds}: {len(best)} inputs kept, reaching "
          f"{sum(new[i] for i in best)} new code points "
          f"(of {sum(new.values())} the runs found)")


if __name__ == "__main__":
    main()
