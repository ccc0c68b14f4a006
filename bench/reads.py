#!/usr/bin/env python3
"""GET /api/v1/me under wrk, two release binaries compared in one run (a before/after).

    bench/reads.py --before path/to/old/gatehouse --after target/release/gatehouse

For each backend, each binary seeds a database of its own (its own migrations), then the
two servers are measured in alternation (before, after, before, after, ...) with
`wrk -t2 -c64 --latency` for --seconds each, so a load that drifts during the run
affects both alike. Prints a Markdown table (median of the rounds, and every round) and
the machine's load average at the start and the end. On PostgreSQL each round also runs
`pgbench -S -M prepared -c 64 -j 2` (the SPEC §14 baseline) on the first binary's
database, no TLS, between the two servers, so the ratio is of the same minutes. Reuses
bench.py's helpers.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def wrk_me(base, token, seconds):
    cmd = ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {token}",
           base + "/api/v1/me"]
    return bench.parse_wrk(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def pgbench(url, seconds):
    out = subprocess.run(["pgbench", "-S", "-M", "prepared", "-c", "64", "-j", "2", "-T", str(seconds), url],
                         capture_output=True, text=True, check=True).stdout
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    return {"rps": float(tps.group(1)), "p99_ms": float("nan")}


def run_backend(kind, binaries, args, workdir):
    setups = []
    try:
        for label, binary in binaries:
            be = bench.Backend(kind, workdir, name=f"_{label}")
            port = bench.free_port()
            env = bench.server_env(be, port)
            bench.seed_db(binary, env, args.contributors, args.records)
            setups.append((label, binary, be, env, f"http://127.0.0.1:{port}"))
        rounds = {label: [] for label, _ in binaries}
        pg_url = setups[0][2].url if kind == "postgres" and shutil.which("pgbench") else None
        if pg_url:
            subprocess.run(["pgbench", "-i", "-s", "1", "-q", pg_url], capture_output=True, check=True)
            rounds["pgbench -S"] = []
        for r in range(args.rounds):
            if pg_url:
                rounds["pgbench -S"].append(pgbench(pg_url, args.seconds))
                bench.log(f"{kind} pgbench round {r + 1}: {rounds['pgbench -S'][-1]}")
            for label, binary, be, env, base in setups:
                server = bench.start_server(binary, env, base, os.path.join(workdir, f"{kind}-{label}-{r}.log"))
                try:
                    token = bench.login(base)[0]
                    wrk_me(base, token, 2)  # warm-up, not counted
                    res = wrk_me(base, token, args.seconds)
                    if res["non_2xx"]:
                        raise RuntimeError(f"{kind} {label}: {res['non_2xx']} non-2xx answers")
                    rounds[label].append(res)
                    bench.log(f"{kind} {label} round {r + 1}: {res}")
                finally:
                    bench.stop_server(server)
        return rounds
    finally:
        for _, _, be, _, _ in setups:
            be.drop()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--contributors", type=int, default=1000)
    p.add_argument("--records", type=int, default=1000)
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if not shutil.which("wrk"):
        sys.exit("reads.py: wrk is required (bench/run.sh installs it)")
    load0 = os.getloadavg()
    workdir = tempfile.mkdtemp(prefix="gatehouse-reads-")
    out = ["| backend | binary | req/s (median) | p99 ms (median) | rounds (req/s, p99 ms) |", "|---|---|---|---|---|"]
    try:
        for kind in args.backends.split(","):
            rounds = run_backend(kind, (("before", args.before), ("after", args.after)), args, workdir)
            for label, rs in rounds.items():
                rps = statistics.median(x["rps"] for x in rs)
                p99 = statistics.median(x["p99_ms"] for x in rs)
                each = "; ".join(f"{x['rps']:.0f}, {x['p99_ms']:.2f}" for x in rs)
                out.append(f"| {kind} | {label} | {rps:.0f} | {p99:.2f} | {each} |")
            if "pgbench -S" in rounds:
                base = statistics.median(x["rps"] for x in rounds["pgbench -S"])
                for label, _ in (("before", 0), ("after", 0)):
                    rps = statistics.median(x["rps"] for x in rounds[label])
                    out.append(f"| {kind} | {label} / pgbench -S | {rps / base * 100:.1f} % | | |")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load1 = os.getloadavg()
    print("\n".join(out))
    print(f"\nwrk -t2 -c64, {args.seconds} s per round after a 2 s warm-up, {args.rounds} rounds each, "
          f"alternating; {args.contributors} contributors seeded; load average "
          f"{load0[0]:.1f} at the start, {load1[0]:.1f} at the end; {os.cpu_count()} CPUs.")


if __name__ == "__main__":
    main()
