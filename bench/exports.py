#!/usr/bin/env python3
"""Export timings alone, for comparing two builds (issue 19): bench.py's step e. without
the rest of the suite, and with the batch built in the same server process.

    bench/exports.py BACKEND ITEMS_PER_RAIL BINARY [RAILS] [perf]
    FORMATS=nacha,paypal_csv,wise_csv bench/exports.py sqlite 100000 target/release/gatehouse ach,paypal,wise

Seeds ITEMS_PER_RAIL contributors on each rail in a fresh database (SQLite file under
/tmp/gatehouse-exports, or a PostgreSQL database dropped after), builds and approves one
batch, then downloads each format (all its parts) twice, first export and repeat, and
prints bench.py's log lines and one JSON line. KEEP=1 keeps the database (to EXPLAIN a
statement on it afterwards). With `perf`, `perf record -g` samples the
server during the downloads (REPEAT=N repeats them N more times under the profiler).
Peak RSS includes the build done by the same process (bench.py restarts the server).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (Backend, build_and_approve, free_port, log, login, measure_exports,  # noqa: E402
                   seed_db, server_env, start_server, stop_server)


def run(kind, n, binary, workdir, rails, perf):
    shutil.rmtree(os.path.join(workdir, f"data-{kind}_x{n}"), ignore_errors=True)
    be = Backend(kind, workdir, f"_x{n}")
    port = free_port()
    env = dict(server_env(be, port), GATEHOUSE_PAYOUT_MINIMUM_CENTS="100")
    formats = tuple(os.environ.get("FORMATS", "nacha").split(","))
    t = time.perf_counter()
    for rail in rails:
        seed_db(binary, env, n, n, rail)
    log(f"seeded {n} x {len(rails)} in {time.perf_counter() - t:.1f} s")
    base = f"http://127.0.0.1:{port}"
    server = start_server(binary, env, base, os.path.join(workdir, f"server-{kind}-{n}.log"))
    try:
        tokens = login(base)
        batch, secs = build_and_approve(kind, base, tokens, f"exports-{n}-{os.getpid()}")
        rec = None
        if perf:
            rec = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(server.pid),
                                    "-o", os.path.join(workdir, f"perf-{kind}-{n}.data")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        out = measure_exports(kind, be, server, base, tokens[0], batch["id"], formats)
        if rec:
            for _ in range(int(os.environ.get("REPEAT", "0"))):
                measure_exports(kind, be, server, base, tokens[0], batch["id"], formats)
            rec.send_signal(signal.SIGINT)
            rec.wait()
        print(json.dumps({"backend": kind, "items_per_rail": n, "build_seconds": secs, "exports": out}), flush=True)
    finally:
        stop_server(server)
        if os.environ.get("KEEP") != "1":
            be.drop()


if __name__ == "__main__":
    kind, n, binary = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rails = tuple(sys.argv[4].split(",")) if len(sys.argv) > 4 else ("ach",)
    workdir = os.path.join("/tmp/gatehouse-exports", f"{kind}-{n}")
    os.makedirs(workdir, exist_ok=True)
    run(kind, n, binary, workdir, rails, len(sys.argv) > 5)
