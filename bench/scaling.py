#!/usr/bin/env python3
"""The batch build's scaling curve (SPEC §14: time per contributor flat within 20 % from
10,000 to 300,000 contributors; issue 23).

    bench/scaling.py [--backends sqlite,postgres] [--sizes 10000,100000,300000]
                     [--records-per-contributor 10] [--binary target/release/gatehouse]

For each backend and size: a fresh database seeded with N contributors (mixed rails) and
N × R approved records (`gatehouse seed`), one server, one batch build through the API
(timed by the client, as bench.py times it; the server's log line gives each phase).
Writes bench/results/scaling-<stamp>.{json,md,svg}: a table of seconds and microseconds
per contributor, the spread of the per-contributor time (max/min - 1, the SPEC's 20 %),
and an SVG chart of microseconds per contributor against contributors, one line per
backend. The chart is drawn here (no plotting library): the suite needs only Python 3.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (ROOT, Backend, build_and_approve, free_port, log, login, seed_db,  # noqa: E402
                   server_env, start_server, stop_server)

PHASES = re.compile(r'phases=(.*)$')


def phases_of(logfile):
    """The build's phase times from the server's `payout batch build` log line."""
    with open(logfile, errors="replace") as f:
        for line in f:
            line = re.sub(r"\x1b\[[0-9;]*m", "", line)
            if "payout batch build" in line and "phases=" in line:
                return {k: float(v.rstrip("s")) for k, v in
                        (p.split("=") for p in PHASES.search(line.strip()).group(1).split())}
    return {}


def one(kind, n, per, binary, workdir):
    shutil.rmtree(os.path.join(workdir, f"data-{kind}_s{n}"), ignore_errors=True)
    be = Backend(kind, workdir, f"_s{n}")
    port = free_port()
    env = dict(server_env(be, port), RUST_LOG="warn,gatehouse::payouts=info")
    try:
        t = time.perf_counter()
        seed_db(binary, env, n, n * per)
        log(f"{kind}: seeded {n} contributors, {n * per} records in {time.perf_counter() - t:.1f} s")
        base = f"http://127.0.0.1:{port}"
        logfile = os.path.join(workdir, f"server-{kind}-{n}.log")
        server = start_server(binary, env, base, logfile)
        try:
            batch, secs = build_and_approve(kind, base, login(base), f"scaling-{n}-{os.getpid()}")
        finally:
            stop_server(server)
        return {"backend": kind, "contributors": n, "records": n * per, "items": batch["item_count"],
                "seconds": secs, "us_per_contributor": secs / n * 1e6, "phases": phases_of(logfile)}
    finally:
        be.drop()
        shutil.rmtree(be.data_dir, ignore_errors=True)


def svg(results, sizes):
    """A small line chart: µs per contributor (y) against contributors (x, log scale)."""
    import math
    w, h, left, right, top, bottom = 560, 300, 70, 120, 30, 50
    ys = [r["us_per_contributor"] for r in results]
    ymax = max(ys) * 1.15
    xs = [math.log10(s) for s in sizes]
    x0, x1 = min(xs), max(xs)

    def px(n):
        return left + (math.log10(n) - x0) / ((x1 - x0) or 1) * (w - left - right)

    def py(v):
        return top + (1 - v / ymax) * (h - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
           'font-family="sans-serif" font-size="12">',
           '<title>Batch build: microseconds per contributor against contributors</title>',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="#333"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#333"/>']
    for s in sizes:
        out.append(f'<text x="{px(s):.1f}" y="{h - bottom + 18}" text-anchor="middle">{s:,}</text>')
    for i in range(5):
        v = ymax * i / 4
        out.append(f'<text x="{left - 8}" y="{py(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
        out.append(f'<line x1="{left}" y1="{py(v):.1f}" x2="{w - right}" y2="{py(v):.1f}" stroke="#ddd"/>')
    out.append(f'<text x="{(left + w - right) / 2}" y="{h - 10}" text-anchor="middle">contributors</text>')
    out.append(f'<text x="16" y="{(top + h - bottom) / 2}" transform="rotate(-90 16 {(top + h - bottom) / 2})" '
               'text-anchor="middle">µs per contributor</text>')
    colours = {"sqlite": "#1f77b4", "postgres": "#d62728"}
    for kind in sorted({r["backend"] for r in results}):
        pts = [(px(r["contributors"]), py(r["us_per_contributor"])) for r in results if r["backend"] == kind]
        c = colours.get(kind, "#555")
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="'
                   + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
        for x, y in pts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{c}"/>')
        lx, ly = pts[-1]
        out.append(f'<text x="{lx + 8:.1f}" y="{ly + 4:.1f}" fill="{c}">{kind}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def markdown(results, per, commit):
    lines = [f"Batch build scaling, commit {commit}, {per} records per contributor, mixed rails "
             "(bench/scaling.py; time of `POST /payout-batches` at the client):", "",
             "| backend | contributors | records | items | build (s) | µs per contributor |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['backend']} | {r['contributors']:,} | {r['records']:,} | {r['items']:,} | "
                     f"{r['seconds']:.2f} | {r['us_per_contributor']:.1f} |")
    lines.append("")
    for kind in sorted({r["backend"] for r in results}):
        us = [r["us_per_contributor"] for r in results if r["backend"] == kind]
        spread = (max(us) / min(us) - 1) * 100
        verdict = "flat within 20 %" if spread <= 20 else "NOT flat within 20 %"
        lines.append(f"- {kind}: per-contributor time spread {spread:.0f} % (max/min − 1): {verdict}.")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--sizes", default="10000,100000,300000")
    p.add_argument("--records-per-contributor", type=int, default=10)
    p.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "gatehouse"))
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    workdir = "/tmp/gatehouse-scaling"
    os.makedirs(workdir, exist_ok=True)
    results = []
    for kind in a.backends.split(","):
        for n in sizes:
            r = one(kind, n, a.records_per_contributor, a.binary, workdir)
            log(f"{kind}: {n} contributors: {r['seconds']:.2f} s, {r['us_per_contributor']:.1f} µs each")
            results.append(r)
    commit = os.popen(f"git -C {ROOT} rev-parse --short HEAD").read().strip() or "unknown"
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    os.makedirs(a.out, exist_ok=True)
    base = os.path.join(a.out, f"scaling-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump({"commit": commit, "records_per_contributor": a.records_per_contributor,
                   "results": results}, f, indent=1)
    md = markdown(results, a.records_per_contributor, commit)
    with open(base + ".md", "w") as f:
        f.write(md)
    with open(base + ".svg", "w") as f:
        f.write(svg(results, sizes))
    print(md)
    print(f"written: {base}.json, .md, .svg")


if __name__ == "__main__":
    main()
