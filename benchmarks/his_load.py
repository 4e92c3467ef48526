"""Load on the reference HIS: hold + book throughput and latency at 50 and 200 concurrent clients,
on SQLite and on PostgreSQL, then a check that no slot was booked twice.

Run: `.venv/bin/python benchmarks/his_load.py [--backend sqlite|postgres|both] [--clients 50,200]
[--seconds 10] [--workers 2] [--client-procs 2] [--sqlite-sync FULL|NORMAL]
[--group-commit auto|on|off] [--profile FILE]`.

The server runs as its own process (`python -m simulators.his serve`, optionally with several
workers); the clients are asyncio coroutines over keep-alive HTTP/1.1 connections, spread over
--client-procs other processes, so the figure measures the server, not the load generator's GIL. They
still share this machine's cores with the server. The database is seeded once before the server starts,
plus --extra-patients benchmark patients so the per-patient limits do not run out of people.
Loopback only; every client stops at the deadline or after --max-per-client attempts.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, insert, select

from simulators.his import models as m
from simulators.his.clock import Clock
from simulators.his.db import Database
from simulators.his.pgtemp import TempCluster
from simulators.his.residentid import check_character
from simulators.his.rules import Rules
from simulators.his.seed import seed

START = dt.datetime(2026, 11, 23, 9, 0)  # Monday 09:00: the whole week is bookable
TOKEN = "demo-kiosk-token"
REPO = Path(__file__).resolve().parent.parent
# issue 12, at 50 clients: bookings a second on either database, and the p99 on SQLite
TARGET_BOOKINGS_S = 600
TARGET_P99_MS = 150


# --- the database ------------------------------------------------------------------------------
def bench_patients(count: int, start: dt.datetime = START) -> list[dict]:
    """Benchmark patients B0000000, B0000001, ...: valid ID numbers, a fifth of them first visits."""
    rows = []
    for n in range(count):
        first17 = f"110101{dt.date(1960, 1, 1) + dt.timedelta(days=n % 15000):%Y%m%d}{n // 15000:03d}"
        rows.append(
            {
                "id": f"B{n:07d}",
                "name": "测试",
                "sex": "male" if int(first17[-1]) % 2 else "female",
                "birth_date": dt.date.fromisoformat(f"{first17[6:10]}-{first17[10:12]}-{first17[12:14]}"),
                "id_number": first17 + check_character(first17),
                "ethnicity": "汉",
                "address": "",
                "visit_card": f"77{n:08d}",
                "qr": f"BENCH{n:010d}",
                "account_balance_fen": 0,
                "first_visit": n % 5 == 0,
                "created_at": start - dt.timedelta(days=30),
            }
        )
    return rows


def prepare(url: str, extra_patients: int, start: dt.datetime = START) -> list[str]:
    """Seed the hospital, add benchmark patients; the slot ids a client may try (days 1..7, public)."""
    db = Database(url)
    try:
        db.create_schema()
        rules = Rules()
        seed(db, 1, Clock(rules.timezone, start), rules)
        rows = bench_patients(extra_patients, start)
        with db.write() as s:
            if rows:
                s.execute(insert(m.Patient), rows)
        with db.read() as s:
            return list(
                s.execute(
                    select(m.Slot.id)
                    .join(m.Schedule, m.Schedule.id == m.Slot.schedule_id)
                    .where(
                        m.Schedule.date > start.date(),
                        m.Schedule.date <= start.date() + dt.timedelta(days=rules.booking_window_days),
                        m.Schedule.state.in_(("open", "substituted")),
                        m.Slot.appointment_id.is_(None),
                        m.Slot.reserved_followup.is_(False),
                    )
                ).scalars()
            )
    finally:
        db.dispose()


def double_bookings(url: str) -> int:
    """Slots with more than one active appointment, plus appointments their slot does not point back to."""
    db = Database(url)
    try:
        with db.read() as s:
            active = select(m.Appointment.slot_id).where(
                m.Appointment.status.in_(m.ACTIVE_STATUSES), m.Appointment.slot_id.is_not(None)
            )
            doubled = s.execute(
                select(func.count()).select_from(
                    active.group_by(m.Appointment.slot_id).having(func.count() > 1).subquery()
                )
            ).scalar_one()
            dangling = s.execute(
                select(func.count())
                .select_from(m.Appointment)
                .join(m.Slot, m.Slot.id == m.Appointment.slot_id)
                .where(m.Appointment.status.in_(m.ACTIVE_STATUSES), m.Slot.appointment_id != m.Appointment.id)
            ).scalar_one()
        return int(doubled) + int(dangling)
    finally:
        db.dispose()


# --- the server process ------------------------------------------------------------------------
def _free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    url: str,
    workers: int,
    sqlite_sync: str,
    group_commit: str = "auto",
    profile: Path | None = None,
    now: dt.datetime = START,
    tokens: tuple[str, ...] = (TOKEN,),
) -> tuple[subprocess.Popen, int]:
    """The HIS in its own process, its clock at `now`; with `profile`, under py-spy (FILE.svg: a flame
    graph; any other name: collapsed stacks for profile_summary.py)."""
    port = _free_port()
    cmd = [sys.executable, "-m", "simulators.his", "serve", "--port", str(port), "--db", url]
    if profile is not None:
        spy = Path(sys.executable).with_name("py-spy")
        fmt = "flamegraph" if profile.suffix == ".svg" else "raw"  # raw: for profile_summary.py
        cmd = [
            str(spy),
            "record",
            "--subprocesses",
            *(["--gil"] if os.environ.get("HIS_PROFILE_GIL") else []),
            "--format",
            fmt,
            "-r",
            "200",
            "-o",
            str(profile),
            "--",
            *cmd,
        ]
    cmd += ["--now", now.isoformat(), "--workers", str(workers)]
    cmd += [arg for token in tokens for arg in ("--token", token)]
    cmd += ["--sqlite-synchronous", sqlite_sync, "--group-commit", group_commit, "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the HIS exited with {proc.returncode}")
        try:
            with closing(socket.create_connection(("127.0.0.1", port), timeout=1)) as sock:
                sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: his\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    # every worker must be up: a few more probes cost nothing
                    time.sleep(0.5 * workers)
                    return proc, port
        except OSError:
            time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError("the HIS did not start")


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server process and every process under it.

    Less disturbed than throughput by other load on a shared machine: the cost of the work itself.
    """
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # it ended meanwhile
    return total


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        # SIGINT: uvicorn shuts down as on SIGTERM, and py-spy (when profiling) writes its profile
        os.killpg(proc.pid, signal.SIGINT)  # its own session: the server and its workers only
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


# --- the clients -------------------------------------------------------------------------------
@dataclass
class Result:
    hold_ms: list[float] = field(default_factory=list)
    book_ms: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)

    def merge(self, other: Result) -> None:
        self.hold_ms += other.hold_ms
        self.book_ms += other.book_ms
        self.outcomes.update(other.outcomes)


class Connection:
    """One keep-alive HTTP/1.1 connection; just enough client for JSON POSTs with Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str) -> None:
        self.reader, self.writer, self.token = reader, writer, token

    @classmethod
    async def open(cls, port: int, token: str = TOKEN) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, token)

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        return await self.request("POST", path, body)

    async def request(
        self, method: str, path: str, body: dict | None = None, key: str | None = None
    ) -> tuple[int, dict]:
        """One request on this connection (path below /api/v1), with an Idempotency-Key when given."""
        payload = b"" if body is None else json.dumps(body).encode()
        extra = "" if key is None else f"Idempotency-Key: {key}\r\n"
        self.writer.write(
            f"{method} /api/v1{path} HTTP/1.1\r\nHost: his\r\nAuthorization: Bearer {self.token}\r\n{extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = next(int(h.split(":", 1)[1]) for h in lines[1:] if h.lower().startswith("content-length:"))
        return status, json.loads(await self.reader.readexactly(length))

    def close(self) -> None:
        self.writer.close()


async def _client(
    conn: Connection,
    slots: list[str],
    patients: list[str],
    rng: random.Random,
    start: float,
    deadline: float,
    max_attempts: int,
    out: Result,
) -> None:
    await asyncio.sleep(max(0.0, start - time.time()))
    for _ in range(max_attempts):
        if time.time() >= deadline:
            break
        t0 = time.perf_counter()
        status, body = await conn.post(
            "/holds", {"slot_id": rng.choice(slots), "patient_id": rng.choice(patients)}
        )
        out.hold_ms.append((time.perf_counter() - t0) * 1000)
        if status != 201:
            out.outcomes[body["error"]["code"]] += 1
            continue
        t0 = time.perf_counter()
        status, booked = await conn.post("/appointments", {"hold_id": body["hold_id"], "pay_now": False})
        out.book_ms.append((time.perf_counter() - t0) * 1000)
        out.outcomes["booked" if status == 201 else booked["error"]["code"]] += 1


async def _clients(
    port: int,
    n: int,
    seed_value: int,
    slots: list[str],
    patients: list[str],
    start: float,
    deadline: float,
    max_attempts: int,
) -> Result:
    conns = [await Connection.open(port) for _ in range(n)]
    out = Result()
    try:
        rngs = [random.Random(seed_value * 10_000 + k) for k in range(n)]
        await asyncio.wait_for(
            asyncio.gather(
                *(
                    _client(c, slots, patients, r, start, deadline, max_attempts, out)
                    for c, r in zip(conns, rngs)
                )
            ),
            timeout=deadline - time.time() + 120,
        )
    finally:
        for c in conns:
            c.close()
    return out


def client_process(
    port: int,
    n: int,
    seed_value: int,
    slots: list[str],
    patients: list[str],
    start: float,
    deadline: float,
    max_attempts: int,
) -> Result:
    return asyncio.run(_clients(port, n, seed_value, slots, patients, start, deadline, max_attempts))


# --- one run -----------------------------------------------------------------------------------
def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(url: str, args: argparse.Namespace, clients: int, db_pid: int | None = None) -> dict:
    """One load run; `db_pid`: the database server's process (PostgreSQL), whose CPU is reported too."""
    slots = prepare(url, args.extra_patients)
    patients = [f"P{n:06d}" for n in range(1, 1201)] + [f"B{n:07d}" for n in range(args.extra_patients)]
    proc, port = start_server(url, args.workers, args.sqlite_sync, args.group_commit, args.profile)
    try:
        procs = min(args.client_procs, clients)
        shares = [clients // procs + (1 if k < clients % procs else 0) for k in range(procs)]
        start = time.time() + 2.0  # every process has its connections open by then
        deadline = start + args.seconds
        result = Result()
        cpu_before = server_cpu_s(proc.pid)
        db_cpu_before = server_cpu_s(db_pid) if db_pid is not None else 0.0
        with ProcessPoolExecutor(procs) as pool:
            futures = [
                pool.submit(client_process, port, n, k, slots, patients, start, deadline, args.max_per_client)
                for k, n in enumerate(shares)
            ]
            for f in futures:
                result.merge(f.result(timeout=args.seconds + 180))
        cpu = server_cpu_s(proc.pid) - cpu_before
        db_cpu = server_cpu_s(db_pid) - db_cpu_before if db_pid is not None else 0.0
        elapsed = args.seconds
    finally:
        stop_server(proc)
    return {
        "clients": clients,
        "server_cpu_ms_per_booking": 1000 * cpu / max(1, result.outcomes["booked"]),
        "db_cpu_ms_per_booking": 1000 * db_cpu / max(1, result.outcomes["booked"]),
        "holds_per_s": len(result.hold_ms) / elapsed,
        "bookings_per_s": result.outcomes["booked"] / elapsed,
        "hold_p50_ms": _pct(result.hold_ms, 0.5),
        "hold_p99_ms": _pct(result.hold_ms, 0.99),
        "book_p50_ms": _pct(result.book_ms, 0.5),
        "book_p99_ms": _pct(result.book_ms, 0.99),
        "all_p99_ms": _pct(result.hold_ms + result.book_ms, 0.99),
        "outcomes": dict(result.outcomes.most_common()),
        "double_bookings": double_bookings(url),
    }


def verdict(row: dict) -> str:
    """Issue 12's targets for 50 clients, each met or not, with the figure measured."""
    checks = [
        (
            f"≥ {TARGET_BOOKINGS_S} bookings/s",
            row["bookings_per_s"] >= TARGET_BOOKINGS_S,
            row["bookings_per_s"],
        )
    ]
    if row["backend"] == "sqlite":
        checks.append((f"p99 < {TARGET_P99_MS} ms", row["all_p99_ms"] < TARGET_P99_MS, row["all_p99_ms"]))
    checks.append(("0 double bookings", row["double_bookings"] == 0, row["double_bookings"]))
    return "; ".join(f"{name}: {'met' if ok else 'NOT met'} ({figure:.1f})" for name, ok, figure in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", default="50,200")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-per-client", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--client-procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--extra-patients", type=int, default=30000)
    parser.add_argument("--sqlite-sync", choices=["FULL", "NORMAL"], default="FULL")
    parser.add_argument("--group-commit", choices=["auto", "on", "off"], default="auto")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="run the server under py-spy: FILE.svg a flame graph, else stacks",
    )
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    rows = []
    for backend in backends:
        cluster = TempCluster.start() if backend == "postgres" else None
        try:
            for n, clients in enumerate(counts):
                tmp = None
                if cluster is not None:
                    name = f"load{n}"
                    cluster.admin(f"CREATE DATABASE {name}")
                    url = cluster.url(name)
                else:
                    tmp = tempfile.TemporaryDirectory()
                    url = f"sqlite:///{Path(tmp.name) / 'his.db'}"
                try:
                    row = run(url, args, clients, cluster.pid() if cluster is not None else None)
                finally:
                    if tmp is not None:
                        tmp.cleanup()
                row["backend"] = backend
                rows.append(row)
                db_cpu = f"+ PostgreSQL {row['db_cpu_ms_per_booking']:.2f} ms " if cluster is not None else ""
                print(
                    f"{backend:8s} w{args.workers} {clients:4d} clients: {row['holds_per_s']:7.1f} holds/s "
                    f"{row['bookings_per_s']:6.1f} bookings/s | hold p50 {row['hold_p50_ms']:6.1f} ms "
                    f"p99 {row['hold_p99_ms']:7.1f} ms | book p50 {row['book_p50_ms']:6.1f} ms "
                    f"p99 {row['book_p99_ms']:7.1f} ms | server CPU {row['server_cpu_ms_per_booking']:.2f} ms/booking "
                    f"{db_cpu}| double bookings {row['double_bookings']}",
                    flush=True,
                )
                print(f"          outcomes: {row['outcomes']}", flush=True)
                if clients == 50:
                    print(f"          issue 12 targets: {verdict(row)}", flush=True)
        finally:
            if cluster is not None:
                cluster.stop()
    assert all(r["double_bookings"] == 0 for r in rows), "a slot was booked twice"
    print(f"median over runs: {statistics.median(r['bookings_per_s'] for r in rows):.1f} bookings/s")


if __name__ == "__main__":
    main()
