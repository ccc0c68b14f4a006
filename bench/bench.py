#!/usr/bin/env python3
"""Gatehouse benchmark suite (SPEC §14). Not part of `cargo test`: run bench/run.sh.

For each backend (a SQLite file; a PostgreSQL database created for the run and dropped
after) it seeds a data set with `gatehouse seed`, starts the release server on a loopback
port, and measures each figure beside a raw baseline taken in the same run:

  a. bulk ingest through POST /api/v1/work-records vs a raw multi-row insert (SQLite, one
     transaction, sqlite3 CLI) / COPY FROM STDIN (PostgreSQL, psql) of the same rows
     into the same indexed table;
  b. POST /api/v1/payout-batches over the seeded data vs the raw SQL aggregate of the
     same available balances (timed by the database client: psql \\timing, sqlite3 .timer);
  c. the NACHA, PayPal CSV and Wise CSV exports of that batch: wall time and the server's
     peak resident memory during the export (VmHWM after resetting it with
     /proc/<pid>/clear_refs = 5), first export and repeat;
  d. GET /api/v1/me and /healthz under wrk -c64, beside pgbench -S -M prepared, and a
     write under the same load (PATCH /api/v1/me, bench/patch_me.lua);
  e. exports at scale: --export-items contributors on each rail in a database of their
     own, one batch, each format's export of all the items of its rail.

Only the Python standard library; loopback traffic only; every loop is bounded.
"""

import argparse
import base64
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "bench-password-1"
INGEST_CHUNK = 20_000  # the API's per-request maximum
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, token=None, body=None, headers=None, timeout=3600, sink=None):
    """One request; returns (status, headers, body bytes or byte count when sink)."""
    req = urllib.request.Request(url, method=method, data=body)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            if sink:
                n = 0
                while True:
                    chunk = r.read(1 << 16)
                    if not chunk:
                        break
                    n += len(chunk)
                return r.status, lower(r.headers), n
            return r.status, lower(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, lower(e.headers), e.read()


def lower(headers):
    """Header names in lower case (actix sends them so; HTTP names are case-insensitive)."""
    return {k.lower(): v for k, v in headers.items()}


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])  # kB
    return None


def reset_hwm(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def record_shape(j):
    """Same shape as src/seed.rs::record_shape: (unit_kind, quantity, rate, pay_cents)."""
    if j % 4 == 3:
        q = 15 + (j * 13) % 106
        return "minutes", str(q), "36.00", q * 60  # 36.00/h × q min / 60
    q = 1 + (j * 7) % 20
    return "units", str(q), "1.25", q * 125


class Backend:
    def __init__(self, kind, workdir, name=""):
        self.kind = kind
        self.workdir = workdir
        self.data_dir = os.path.join(workdir, f"data-{kind}{name}")
        os.makedirs(self.data_dir, exist_ok=True)
        if kind == "sqlite":
            self.db_path = os.path.join(self.data_dir, "gatehouse.db")
            self.url = f"sqlite://{self.db_path}"
        else:
            self.db_name = f"gatehouse_bench_{os.getpid()}{name}"
            # No TLS over loopback for any client (psql, pgbench, the service: see
            # config::without_loopback_tls), so the baselines and the service compare alike.
            self.url = f"postgres://postgres@127.0.0.1:5432/{self.db_name}?sslmode=disable"
            self.psql_admin(f"DROP DATABASE IF EXISTS {self.db_name}")
            self.psql_admin(f"CREATE DATABASE {self.db_name}")

    def psql_admin(self, sql):
        subprocess.run(["psql", PG_ADMIN, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True,
                       stdout=subprocess.DEVNULL)

    def drop(self):
        if self.kind == "postgres":
            self.psql_admin(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")

    def client_timed(self, sql, stdin=None):
        """Runs `sql` in the database's own client; returns the time it reports (s)."""
        if self.kind == "postgres":
            script = "\\timing on\n" + sql + "\n"
            if stdin is not None:
                # COPY ... FROM STDIN reads the data after the command in the same stream.
                script = "\\timing on\n" + sql + "\n" + stdin + "\\.\n"
            run = subprocess.run(["psql", self.url, "-v", "ON_ERROR_STOP=1", "-qAt", "-o", "/dev/null"],
                                 input=script, capture_output=True, text=True)
            if run.returncode != 0:
                raise RuntimeError(f"psql: {run.stderr[-1000:]}")
            out = run.stdout
            ms = [float(x) for x in re.findall(r"Time: ([0-9.]+) ms", out)]
            return sum(ms) / 1000.0
        out = subprocess.run(["sqlite3", self.db_path],
                             input=".timer on\n.output /dev/null\n" + sql + "\n",
                             capture_output=True, text=True, check=True).stdout
        return sum(float(x) for x in re.findall(r"Run Time: real ([0-9.]+)", out))

    def scalar(self, sql):
        if self.kind == "postgres":
            return subprocess.run(["psql", self.url, "-qAtc", sql], capture_output=True, text=True,
                                  check=True).stdout.strip()
        return subprocess.run(["sqlite3", self.db_path, sql], capture_output=True, text=True,
                              check=True).stdout.strip()


def start_server(binary, env, base, logfile):
    server = subprocess.Popen([binary, "serve"], env=env, stdout=open(logfile, "w"), stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            if http("GET", base + "/readyz", timeout=2)[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError("server did not become ready")


def stop_server(server):
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def parse_wrk(out):
    """Requests/s, the latency percentiles (ms) and the error count of a wrk --latency run."""
    def ms(v):
        m = re.match(r"([0-9.]+)(us|ms|s)", v)
        x = float(m.group(1))
        return {"us": x / 1000, "ms": x, "s": x * 1000}[m.group(2)]
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    pct = {p: ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(rps.group(1)) if rps else None, "p50_ms": pct.get("50"), "p99_ms": pct.get("99"),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def measure_exports(kind, be, server, base, token, batch_id, formats):
    """Each format's export of the batch, first and repeat: wall time over all its parts
    and the server's peak RSS during it (VmHWM, reset before each)."""
    out = []
    for fmt in formats:
        for attempt in ("first", "repeat"):
            hwm_reset = reset_hwm(server.pid)
            before = proc_status(server.pid, "VmRSS")
            t = time.perf_counter()
            part, parts, nbytes = 1, 1, 0
            while part <= parts and part <= 1000:
                st, hdrs, count = http("GET", base + f"/api/v1/payout-batches/{batch_id}/export"
                                       f"?format={fmt}&part={part}", token=token, sink=True)
                if st != 200:
                    raise RuntimeError(f"export {fmt}: {st}")
                parts = int(hdrs.get("x-export-parts", "1"))
                nbytes += count
                part += 1
            secs = time.perf_counter() - t
            hwm = proc_status(server.pid, "VmHWM")
            rail = {"nacha": "ach", "paypal_csv": "paypal", "paypal_json": "paypal", "wise_csv": "wise"}[fmt]
            items = int(be.scalar(f"SELECT COUNT(*) FROM payout_items WHERE batch_id = {batch_id} "
                                  f"AND rail = '{rail}'"))
            out.append({"format": fmt, "attempt": attempt, "items": items, "parts": parts,
                        "bytes": nbytes, "seconds": secs, "rss_before_kib": before,
                        "peak_rss_kib": hwm, "hwm_reset": hwm_reset})
            log(f"{kind}: export {fmt} ({attempt}) {items} items, {parts} part(s), {nbytes} B in {secs:.3f} s, "
                f"peak RSS {hwm / 1024:.1f} MiB")
    return out


# PostgreSQL needs explicit keys (start-up refuses to generate them there); one pair per
# run, shared by the seed and every server start of the run.
BENCH_KEYS = {"GATEHOUSE_JWT_SECRET": base64.b64encode(os.urandom(64)).decode(),
              "GATEHOUSE_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode()}


def server_env(be, port):
    return dict(os.environ,
                **BENCH_KEYS,
                DATABASE_URL=be.url,
                GATEHOUSE_DATA_DIR=be.data_dir,
                GATEHOUSE_BIND=f"127.0.0.1:{port}",
                GATEHOUSE_BENCH_PASSWORD=PASSWORD,
                # Keep background work out of the measurements: the scheduled jobs and the
                # outbox worker (the first export queues one email per contributor).
                GATEHOUSE_JOB_INTERVAL_SECS="86400",
                GATEHOUSE_MAIL_POLL_MS="600000",
                RUST_LOG=os.environ.get("RUST_LOG", "warn"))


def seed_db(binary, env, contributors, records, rail="mixed"):
    out = subprocess.run([binary, "seed", "--contributors", str(contributors), "--records", str(records),
                          "--rail", rail], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"seed failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def login(base):
    tokens = []
    for email in ("finance1@bench.test", "finance2@bench.test"):
        st, _, body = http("POST", base + "/api/v1/auth/login",
                           body=json.dumps({"email": email, "password": PASSWORD}).encode())
        if st != 200:
            raise RuntimeError(f"login {email}: {st} {body[:300]!r}")
        tokens.append(json.loads(body)["access_token"])
    return tokens


def build_and_approve(kind, base, tokens, key):
    t = time.perf_counter()
    st, _, body = http("POST", base + "/api/v1/payout-batches", token=tokens[0], body=b"{}",
                       headers={"Idempotency-Key": key})
    secs = time.perf_counter() - t
    if st not in (200, 201):
        raise RuntimeError(f"build: {st} {body[:300]!r}")
    batch = json.loads(body)
    st, _, body = http("POST", base + f"/api/v1/payout-batches/{batch['id']}/approve", token=tokens[1])
    if st != 200:
        raise RuntimeError(f"approve: {st} {body[:300]!r}")
    log(f"{kind}: built a batch of {batch['item_count']} items in {secs:.2f} s")
    return batch, secs


def raw_writes(be, batch_id, finance_id):
    """b″. The rows a build writes, written by plain SQL in the database's own client in
    one transaction that is rolled back: a batch, a copy of the built batch's items, the
    batch's one `payout_reserved` transaction and its two entries per item (the same
    INSERT … SELECT shape the service uses) and the UPDATE that seals it (the zero-sum
    check), into the same tables with the same indexes, CHECKs and foreign keys. Timed twice: with the foreign keys enforced (as the service runs) and
    without (PostgreSQL: session_replication_role = replica, which skips the FK
    triggers; SQLite: PRAGMA foreign_keys = OFF), to show what the checks cost."""
    before = int(be.scalar("SELECT COALESCE(MAX(id), 0) FROM ledger_transactions"))
    raw_batch = "(SELECT id FROM payout_batches WHERE idempotency_key = 'bench-raw-writes')"
    body = [
        "INSERT INTO payout_batches (status, idempotency_key, request_hash, note, created_by, created_at, "
        "sender_batch_id) "
        f"VALUES ('draft', 'bench-raw-writes', 'x', 'raw baseline', {finance_id}, '2026-01-01 00:00:00', "
        "'bench-raw-writes');",
        "INSERT INTO payout_items (batch_id, contributor_id, method_id, rail, gross_cents, withheld_cents, "
        f"net_cents, status, created_at, rail_position, destination_kind, kind_position) SELECT {raw_batch}, "
        f"contributor_id, method_id, rail, gross_cents, withheld_cents, net_cents, 'pending', created_at, "
        f"rail_position, destination_kind, kind_position FROM payout_items "
        f"WHERE batch_id = {batch_id};",
        "INSERT INTO ledger_transactions (kind, reference, memo, contributor_id, created_by, created_at) "
        f"VALUES ('payout_reserved', 'raw_batch', 'raw baseline', NULL, {finance_id}, '2026-01-01 00:00:00');",
    ]
    raw_tx = "(SELECT id FROM ledger_transactions WHERE kind = 'payout_reserved' AND reference = 'raw_batch')"
    for account, sign in (("available", "-"), ("in_payout", "")):
        body.append(
            "INSERT INTO ledger_entries (transaction_id, account_id, amount_cents) "
            f"SELECT {raw_tx}, a.id, {sign}i.net_cents FROM payout_items i "
            f"JOIN ledger_accounts a ON a.owner_id = i.contributor_id AND a.kind = '{account}' "
            f"WHERE i.batch_id = {raw_batch} ORDER BY i.id;")
    # Sealed as the service seals it: the database checks it balances (issue 17).
    body.append(f"UPDATE ledger_transactions SET sealed = TRUE WHERE sealed = FALSE AND id > {before};")
    out = {}
    for label, fk in (("seconds", True), ("seconds_without_fk", False)):
        if be.kind == "postgres":
            pre = ["BEGIN;"] + ([] if fk else ["SET LOCAL session_replication_role = replica;"])
        else:
            pre = [f"PRAGMA foreign_keys = {'ON' if fk else 'OFF'};", "BEGIN;"]
        out[label] = be.client_timed("\n".join(pre + body + ["ROLLBACK;"]))
    out["rows"] = 3 * int(be.scalar(f"SELECT COUNT(*) FROM payout_items WHERE batch_id = {batch_id}")) + 2
    return out


def run_export_scale(kind, args, binary, workdir):
    """e. Exports at the SPEC's scale: a database of its own with `--export-items`
    contributors on each rail (one seed per rail, one approved record each) and a payout
    minimum of 1 USD, so that every contributor is paid and each rail's export holds
    `--export-items` items (PayPal CSV in files of 5,000 rows, PayPal's limit: SPEC §8)."""
    n = args.export_items
    be = Backend(kind, workdir, "_exports")
    port = free_port()
    env = dict(server_env(be, port), GATEHOUSE_PAYOUT_MINIMUM_CENTS="100")
    server = None
    res = {"items_per_rail": n}
    try:
        t = time.perf_counter()
        for rail in ("ach", "paypal", "wise"):
            log(f"{kind}: export scale: seed {n} contributors on {rail}")
            seed_db(binary, env, n, n, rail)
        res["seed_seconds"] = time.perf_counter() - t
        base = f"http://127.0.0.1:{port}"
        server = start_server(binary, env, base, os.path.join(workdir, f"server-{kind}-exports.log"))
        tokens = login(base)
        batch, res["build_seconds"] = build_and_approve(kind, base, tokens, f"bench-exports-{kind}-{os.getpid()}")
        res["batch_items"] = batch["item_count"]
        stop_server(server)
        server = start_server(binary, env, base, os.path.join(workdir, f"server-{kind}-exports-2.log"))
        res["server_rss_idle_kib"] = proc_status(server.pid, "VmRSS")
        res["exports"] = measure_exports(kind, be, server, base, tokens[0], batch["id"],
                                         ("nacha", "paypal_csv", "paypal_json", "wise_csv"))
    finally:
        if server:
            stop_server(server)
        be.drop()
        shutil.rmtree(be.data_dir, ignore_errors=True)
    return res


def run_backend(kind, args, binary, workdir):
    res = {"backend": kind, "contributors": args.contributors, "records": args.records,
           "ingest_records": args.ingest_records}
    be = Backend(kind, workdir)
    port = free_port()
    env = server_env(be, port)
    server = None
    try:
        # Seed.
        log(f"{kind}: seed {args.contributors} contributors, {args.records} records")
        t = time.perf_counter()
        seed = seed_db(binary, env, args.contributors, args.records)
        res["seed_seconds"] = time.perf_counter() - t
        res["seed"] = seed
        log(f"{kind}: seeded in {res['seed_seconds']:.1f} s")

        # Server.
        base = f"http://127.0.0.1:{port}"
        server = start_server(binary, env, base, os.path.join(workdir, f"server-{kind}.log"))
        tokens = login(base)

        # a. Ingest: the API vs the raw insert of the same rows.
        n = args.ingest_records
        first, last = seed["first_contributor_id"], seed["last_contributor_id"]
        ncontrib = last - first + 1
        project = seed["project_type_id"]
        finance_id = seed["finance_ids"][0]
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        rows = []
        for j in range(n):
            unit, qty, rate, cents = record_shape(j)
            done = now - dt.timedelta(hours=2, seconds=j % 86_400)
            rows.append((first + j % ncontrib, unit, qty, rate, cents, done))
        bodies = []
        for c in range(0, n, INGEST_CHUNK):
            recs = [{"contributor_id": r[0], "project_type_id": project, "task_ref": f"api-{c + i}",
                     "unit_kind": r[1], "quantity": r[2], "rate": r[3],
                     "completed_at": r[5].strftime("%Y-%m-%dT%H:%M:%SZ")}
                    for i, r in enumerate(rows[c:c + INGEST_CHUNK])]
            bodies.append(json.dumps({"records": recs}).encode())
        answers = []
        t = time.perf_counter()
        for b in bodies:
            answers.append(http("POST", base + "/api/v1/work-records", token=tokens[0], body=b))
        api_s = time.perf_counter() - t
        # The answers are read in full inside the timing, parsed after it (the client's
        # JSON parsing is not the server's work).
        created = 0
        for st, _, body in answers:
            if st != 200:
                raise RuntimeError(f"ingest: {st} {body[:300]!r}")
            created += json.loads(body)["created"]
        if created != n:
            raise RuntimeError(f"ingest created {created} of {n}")
        ts = now.strftime("%Y-%m-%d %H:%M:%S")
        due = (now + dt.timedelta(days=7)).strftime("%Y-%m-%d %H:%M:%S")
        cols = ("contributor_id, project_type_id, task_ref, unit_kind, quantity, rate, pay_cents, completed_at, "
                "ingested_at, ingested_by, status, review_due_at")
        if kind == "postgres":
            data = "".join(f"{r[0]},{project},raw-{j},{r[1]},{r[2]},{r[3]},{r[4]},"
                           f"{r[5].strftime('%Y-%m-%d %H:%M:%S')},{ts},{finance_id},pending,{due}\n"
                           for j, r in enumerate(rows))
            raw_s = be.client_timed(f"COPY work_records ({cols}) FROM STDIN WITH (FORMAT csv);", stdin=data)
            raw_how = "COPY work_records FROM STDIN (psql, CSV)"
        else:
            stmts = ["PRAGMA synchronous = NORMAL;", "BEGIN;"]
            for c in range(0, n, 500):
                vals = ",".join(f"({r[0]},{project},'raw-{c + i}','{r[1]}','{r[2]}','{r[3]}',{r[4]},"
                                f"'{r[5].strftime('%Y-%m-%d %H:%M:%S')}','{ts}',{finance_id},'pending','{due}')"
                                for i, r in enumerate(rows[c:c + 500]))
                stmts.append(f"INSERT INTO work_records ({cols}) VALUES {vals};")
            stmts.append("COMMIT;")
            # .timer reports per statement: the sum is the whole transaction.
            raw_s = be.client_timed("\n".join(stmts))
            raw_how = "multi-row INSERT (500 rows/statement) in one transaction (sqlite3 CLI)"
        res["ingest"] = {"records": n, "requests": len(bodies), "api_seconds": api_s, "api_rate": n / api_s,
                         "raw_seconds": raw_s, "raw_rate": n / raw_s, "raw_how": raw_how,
                         "ratio": (n / api_s) / (n / raw_s)}
        log(f"{kind}: ingest api {n / api_s:.0f}/s, raw {n / raw_s:.0f}/s")

        # b. Payout batch build vs the raw aggregate.
        agg = ("SELECT a.owner_id, SUM(e.amount_cents) FROM ledger_entries e JOIN ledger_accounts a "
               "ON a.id = e.account_id WHERE a.kind = 'available' AND a.owner_id IS NOT NULL "
               "GROUP BY a.owner_id HAVING SUM(e.amount_cents) > 0 ORDER BY a.owner_id;")
        agg_runs = [be.client_timed(agg) for _ in range(3)]
        # Where the build's time goes: the preview is the eligibility check alone (the
        # readiness providers once per contributor with money available).
        t = time.perf_counter()
        st, _, body = http("GET", base + "/api/v1/payout-batches/preview", token=tokens[0])
        preview_s = time.perf_counter() - t
        if st != 200:
            raise RuntimeError(f"preview: {st} {body[:300]!r}")
        batch, build_s = build_and_approve(kind, base, tokens, f"bench-{kind}-{os.getpid()}")
        res["build"] = {"seconds": build_s, "items": batch["item_count"],
                        "skipped": len(batch.get("skipped") or []),
                        "withheld_cents": batch["withheld_cents"], "gross_cents": batch["gross_cents"],
                        "raw_seconds": min(agg_runs), "raw_runs": agg_runs,
                        "ratio": build_s / min(agg_runs), "preview_seconds": preview_s}
        log(f"{kind}: build {build_s:.2f} s for {batch['item_count']} items; aggregate {min(agg_runs):.3f} s")
        res["build"]["raw_writes"] = raw_writes(be, batch["id"], finance_id)
        log(f"{kind}: raw writes of the same rows: {res['build']['raw_writes']}")

        # c. Exports: time and the server's peak RSS during each, in a fresh server process
        # (the allocator keeps what the ingest and the build used).
        stop_server(server)
        server = start_server(binary, env, base, os.path.join(workdir, f"server-{kind}-2.log"))
        rss_idle = proc_status(server.pid, "VmRSS")
        res["exports"] = measure_exports(kind, be, server, base, tokens[0], batch["id"],
                                         ("nacha", "paypal_csv", "wise_csv"))
        res["server_rss_idle_kib"] = rss_idle

        # d. Reads under load (optional): GET /api/v1/me (an authenticated single-record
        # read) and /healthz (an empty handler) under wrk at 64 connections, beside
        # pgbench -S -M prepared on the same PostgreSQL.
        if args.read_seconds > 0 and shutil.which("wrk"):
            res["reads"] = {}
            for name, path, auth in (("me", "/api/v1/me", True), ("healthz", "/healthz", False)):
                cmd = ["wrk", "-t2", "-c64", f"-d{args.read_seconds}s", "--latency"]
                if auth:
                    cmd += ["-H", f"Authorization: Bearer {tokens[0]}"]
                out = subprocess.run(cmd + [base + path], capture_output=True, text=True, check=True).stdout
                res["reads"][name] = parse_wrk(out)
                log(f"{kind}: wrk {path}: {res['reads'][name]}")
            # d″. Writes under the same load: PATCH /api/v1/me (a profile row and its audit
            # record in one transaction, then the view read back), a new value each time.
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "patch_me.lua")
            cmd = ["wrk", "-t2", "-c64", f"-d{args.read_seconds}s", "--latency", "-s", script,
                   base + "/api/v1/me", "--", tokens[0]]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            res["reads"]["patch_me"] = parse_wrk(out)
            log(f"{kind}: wrk PATCH /api/v1/me: {res['reads']['patch_me']}")
            if kind == "postgres" and shutil.which("pgbench"):
                subprocess.run(["pgbench", "-i", "-s", "1", "-q", be.url], capture_output=True, check=True)
                out = subprocess.run(["pgbench", "-S", "-M", "prepared", "-c", "64", "-j", "2", "-T",
                                      str(args.read_seconds), be.url], capture_output=True, text=True,
                                     check=True).stdout
                tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
                lat = re.search(r"latency average = ([0-9.]+) ms", out)
                res["reads"]["pgbench"] = {"rps": float(tps.group(1)) if tps else None,
                                           "latency_avg_ms": float(lat.group(1)) if lat else None}
                log(f"{kind}: pgbench -S: {res['reads']['pgbench']}")
        res["ledger_unbalanced"] = int(be.scalar(
            "SELECT COUNT(*) FROM (SELECT transaction_id FROM ledger_entries GROUP BY transaction_id "
            "HAVING SUM(amount_cents) <> 0) t"))
        res["db_size_bytes"] = (os.path.getsize(be.db_path) if kind == "sqlite" else
                                int(be.scalar(f"SELECT pg_database_size('{be.db_name}')")))
    finally:
        if server:
            stop_server(server)
        be.drop()
        if not args.keep:
            shutil.rmtree(be.data_dir, ignore_errors=True)
    if args.export_items > 0:
        res["export_scale"] = run_export_scale(kind, args, binary, workdir)
    return res


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
            "free": subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.rstrip(),
            "cpu": cpu,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "git": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                  text=True).stdout.strip()}


def markdown(results, m, command):
    out = [f"### Run of {m['date']} (commit {m['git']})", "",
           f"Command: `{command}`", "",
           f"Machine: {m['nproc']} cores, {m['cpu']}", "", "```", m["free"], "```", ""]
    for r in results:
        if "error" in r:
            out += [f"#### {r['backend']}: failed: `{r['error']}`", ""]
            continue
        i, b = r["ingest"], r["build"]
        out += [f"#### {r['backend']}: {r['contributors']:,} contributors, {r['records']:,} approved records",
                "",
                f"Seed: {r['seed_seconds']:.1f} s. Database size after the run: "
                f"{r['db_size_bytes'] / 2**20:.0f} MiB. Unbalanced ledger transactions: {r['ledger_unbalanced']}.",
                "",
                "| measurement | Gatehouse | raw baseline | ratio |",
                "|---|---|---|---|",
                f"| a. ingest {i['records']:,} records ({i['requests']} requests of ≤ 20,000) | "
                f"{i['api_rate']:,.0f} records/s ({i['api_seconds']:.2f} s) | {i['raw_rate']:,.0f} records/s "
                f"({i['raw_seconds']:.2f} s, {i['raw_how']}) | {i['ratio'] * 100:.0f} % of raw |",
                f"| b. build a payout batch ({b['items']:,} items, {b['skipped']} skipped) | {b['seconds']:.2f} s | "
                f"{b['raw_seconds']:.3f} s (SUM … GROUP BY owner, best of 3) | {b['ratio']:.1f}× raw |",
                f"| b′. of which eligibility: `GET /payout-batches/preview` alone | {b['preview_seconds']:.2f} s | "
                f"{b['raw_seconds']:.3f} s | {b['preview_seconds'] / b['raw_seconds']:.1f}× raw |",
                ]
        rw = b.get("raw_writes")
        if rw:
            floor = (b["raw_seconds"] + rw["seconds"]) / b["raw_seconds"]
            out += [f"| b″. the same rows written by plain SQL ({rw['rows']:,} rows: items, reservations, "
                    f"entries; one transaction, rolled back) | — | {rw['seconds']:.3f} s with foreign keys, "
                    f"{rw['seconds_without_fk']:.3f} s without | aggregate + these writes = {floor:.1f}× "
                    f"the aggregate |"]
        for e in r["exports"]:
            out.append(f"| c. export {e['format']} ({e['attempt']}), {e['items']:,} items, {e['parts']} part(s), "
                       f"{e['bytes'] / 2**20:.1f} MiB | {e['seconds']:.3f} s, server peak RSS "
                       f"{e['peak_rss_kib'] / 1024:.1f} MiB (before {e['rss_before_kib'] / 1024:.1f} MiB) | — | — |")
        rd = r.get("reads")
        if rd:
            pg = rd.get("pgbench")
            for name, label in (("me", "d. `GET /api/v1/me` (authenticated single-record read)"),
                                ("healthz", "d′. `GET /healthz` (empty handler)"),
                                ("patch_me", "d″. `PATCH /api/v1/me` (a write: profile row and audit record)")):
                w = rd.get(name)
                if not w:
                    continue
                ratio = f"{w['rps'] / pg['rps'] * 100:.0f} % of pgbench -S" if pg and pg.get("rps") else "—"
                base_txt = (f"pgbench -S -M prepared, 64 clients: {pg['rps']:,.0f} tps, "
                            f"avg {pg['latency_avg_ms']} ms" if pg and pg.get("rps") else "—")
                out.append(f"| {label}, wrk 64 connections | {w['rps']:,.0f} req/s, p50 {w['p50_ms']:.2f} ms, "
                           f"p99 {w['p99_ms']:.2f} ms, non-2xx {w['non_2xx']} | {base_txt} | {ratio} |")
        out.append(f"\nServer RSS after start-up, before the exports: {r['server_rss_idle_kib'] / 1024:.1f} MiB.")
        out.append("")
        x = r.get("export_scale")
        if x:
            out += [f"##### {r['backend']}: exports at scale: {x['items_per_rail']:,} items per rail",
                    "",
                    f"A database of its own: {x['items_per_rail']:,} contributors seeded on each rail (ACH, PayPal, "
                    f"Wise; {x['seed_seconds']:.1f} s), one batch of {x['batch_items']:,} items built in "
                    f"{x['build_seconds']:.2f} s and approved; the exports in a fresh server process "
                    f"({x['server_rss_idle_kib'] / 1024:.1f} MiB resident before them). The first export of the "
                    f"batch also queues every contributor's payout-sent email.",
                    "",
                    "| export | items | parts | size | time | server peak RSS |",
                    "|---|---|---|---|---|---|"]
            for e in x["exports"]:
                out.append(f"| {e['format']} ({e['attempt']}) | {e['items']:,} | {e['parts']} | "
                           f"{e['bytes'] / 2**20:.1f} MiB | {e['seconds']:.3f} s | "
                           f"{e['peak_rss_kib'] / 1024:.1f} MiB (before {e['rss_before_kib'] / 1024:.1f} MiB) |")
            out.append("")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--contributors", type=int, default=10_000)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--ingest-records", type=int, default=100_000)
    p.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "gatehouse"))
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    p.add_argument("--read-seconds", type=int, default=10,
                   help="duration of each wrk / pgbench read run (0: skip the read benchmark)")
    p.add_argument("--export-items", type=int, default=100_000,
                   help="items per rail of the export-scale step (0: skip it)")
    p.add_argument("--keep", action="store_true", help="keep the SQLite data directory")
    args = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="gatehouse-bench-")
    m = machine()
    results = []
    for kind in args.backends.split(","):
        try:
            results.append(run_backend(kind, args, args.binary, workdir))
        except Exception as e:  # one backend failing still reports the other
            log(f"{kind}: FAILED: {e}")
            results.append({"backend": kind, "error": str(e)[:500]})
    command = "bench/run.sh " + " ".join(sys.argv[1:])
    os.makedirs(args.out, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    with open(os.path.join(args.out, f"{stamp}.json"), "w") as f:
        json.dump({"machine": m, "command": command, "results": results}, f, indent=2)
    md = markdown(results, m, command.strip())
    with open(os.path.join(args.out, f"{stamp}.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
