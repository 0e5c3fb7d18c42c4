"""peers: the hub against its peer and its floor in one run (issue 17),
`make bench-peers`.

    python3 bench/peers.py [--nodes N] [--bulletins M[,M...]] [--rounds R]

The hub (bench/fanout), mosquitto (bench/peer-mosquitto) and the floor
(bench/floor) at N nodes (1000), for each count of bulletins (100, then
1000), R rounds each (3): every round runs all three, the order turned
by one each round, so that each sees the machine as the others did.
Prints every run's summary line as it ends, then per count a table of
the medians and the ratios hub/mosquitto and hub/floor (and, from 200
bulletins, the hub's p99 of its last 100 bulletins over that of its first
100), and last one line:

    peers nodes=N rounds=R b100_p50_ratio= b100_p99_ratio= ...

(ratio = hub's median over mosquitto's median, of p50 and of p99).
Ratios hold across days; absolute times do not (BENCHMARKS.md).
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RUNS = [("hub", "fanout"), ("mosquitto", "peer-mosquitto"),
        ("floor", "floor")]


def say(msg):
    print(f"peers: {msg}", file=sys.stderr, flush=True)


def run(script, nodes, bulletins):
    """The figures of one run's summary line, as a dict."""
    r = subprocess.run([sys.executable, str(BENCH / script),
                        "--nodes", str(nodes), "--bulletins",
                        str(bulletins)], stdout=subprocess.PIPE, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        sys.exit(f"peers: bench/{script} failed ({r.returncode})")
    line = r.stdout.strip().splitlines()[-1]
    print(line, flush=True)
    return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--bulletins", default="100,1000")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    counts = [int(x) for x in args.bulletins.split(",")]
    summary = [f"peers nodes={args.nodes} rounds={args.rounds}"]
    tables = []
    for m in counts:
        got = {name: [] for name, _ in RUNS}
        for r in range(args.rounds):
            order = RUNS[r % len(RUNS):] + RUNS[:r % len(RUNS)]
            say(f"{m} bulletins, round {r + 1}/{args.rounds}: "
                f"{', '.join(name for name, _ in order)}")
            for name, script in order:
                got[name].append(run(script, args.nodes, m))

        def med(name, key):
            return statistics.median(float(x[key]) for x in got[name])

        rows = [f"{args.nodes} nodes, {m} bulletins, medians of "
                f"{args.rounds} runs:",
                f"  {'':10} {'p50_ms':>8} {'p99_ms':>8} {'max_ms':>8} "
                f"{'per_node_kb':>12}"]
        for name, _ in RUNS:
            rows.append(f"  {name:10} {med(name, 'p50_ms'):8.1f} "
                        f"{med(name, 'p99_ms'):8.1f} "
                        f"{med(name, 'max_ms'):8.1f} "
                        f"{med(name, 'per_node_kb'):12.1f}")
        ratios = {}
        for peer in ("mosquitto", "floor"):
            for p in ("p50", "p99"):
                ratios[peer, p] = (med("hub", f"{p}_ms") /
                                   max(med(peer, f"{p}_ms"), 0.05))
            rows.append(f"  hub/{peer}: p50 {ratios[peer, 'p50']:.2f} x, "
                        f"p99 {ratios[peer, 'p99']:.2f} x")
        drift = ""
        if all("last100_p99_ms" in x for x in got["hub"]):
            # the hub over a long run: its last 100 against its first 100
            first, last = (med("hub", "first100_p99_ms"),
                           med("hub", "last100_p99_ms"))
            rows.append(f"  hub, p99 of the first / last 100: {first:.1f}"
                        f" / {last:.1f} ms: "
                        f"{last / max(first, 0.05):.2f} x")
            drift = f" b{m}_last100_ratio={last / max(first, 0.05):.2f}"
        tables.append("\n".join(rows))
        summary.append(f"b{m}_p50_ratio={ratios['mosquitto', 'p50']:.2f} "
                       f"b{m}_p99_ratio={ratios['mosquitto', 'p99']:.2f} "
                       f"b{m}_floor_p99_ratio="
                       f"{ratios['floor', 'p99']:.1f}{drift}")
    for t in tables:
        print(t)
    print(" ".join(summary), flush=True)


if __name__ == "__main__":
    main()
