"""sweep.py: bench/fanout at 65, 250, 1000 and 4000 simulated nodes, the
data file of the plot and the plot (bench/fanout.gp). Not executable, so
`make bench` does not run it; `make bench-plot` does.

    python3 bench/sweep.py [--bulletins M] [--out bench/fanout.png]
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulletins", type=int, default=100)
    ap.add_argument("--nodes", default="65,250,1000,4000")
    ap.add_argument("--out", default=str(HERE / "fanout.png"))
    args = ap.parse_args()
    dat = ROOT / "build" / "bench" / "fanout.dat"
    dat.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in [int(x) for x in args.nodes.split(",")]:
        r = subprocess.run([str(HERE / "fanout"), "--nodes", str(n),
                            "--bulletins", str(args.bulletins)],
                           stdout=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit(f"sweep: bench/fanout --nodes {n} failed")
        line = r.stdout.strip().splitlines()[-1]
        print(line, flush=True)
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        rows.append(f"{n} {kv['p50_ms']} {kv['p99_ms']} "
                    f"{kv['acked_p99_ms']}")
    dat.write_text("# nodes p50_ms p99_ms acked_p99_ms\n" +
                   "\n".join(rows) + "\n")
    subprocess.run(["gnuplot", "-e", f"data='{dat}'; out='{args.out}'",
                    str(HERE / "fanout.gp")], check=True)
    print(f"sweep: wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
