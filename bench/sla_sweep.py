"""Work-order escalation sweep (report-sla job) at 10^5 open reports.

Builds the schema (Alembic), seeds the demo communities, adds reporters, building
heads (楼道长) and community staff, then bulk-inserts N open reports whose clock
points are spread over the coming days, with `--due` of them (1 % by default) due
at the sweep moment: some for the 75 % warning (临期预警), the rest past their
window (小事 a building head did not accept pass to the grid worker, anything
else escalates to community staff). With a manual clock set to that moment it
times `scheduler.report_jobs.escalate_overdue` (one unit of work, committed) for
  (a) the sweep that handles the due reports (warnings, escalations, outbox rows),
  (b) an idle sweep where nothing is due (the steady cost of one 5-minute tick),
and, as a reference in the same run, a full scan `SELECT count(*) FROM reports`.
The target: the escalation sweep stays under 1 s at 10^5 open reports.

SQLite runs on a temp file; `--pg URL` adds PostgreSQL (every table in that
database is dropped first). `--closed M` adds M closed reports (off the clock),
as a database that has run for a while holds; `--explain` prints the query plans
of the due-row query and the per-report staff look-up.

    .venv/bin/python bench/sla_sweep.py [--pg URL] [--n 100000] [--due 1000] [--closed 0]
                                        [--repeat 3] [--explain]

e.g. --pg postgresql+psycopg://postgres@127.0.0.1:5432/benchpg
"""
from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import MetaData, bindparam, delete, event, func, insert, make_url, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli.seed import seed  # noqa: E402
from core.clock import ManualClock  # noqa: E402
from core.config import load_config  # noqa: E402
from core.db import make_engine, make_session_factory, transaction  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.texts import text as say  # noqa: E402
from domain.reports.categories import categories  # noqa: E402
from models import (  # noqa: E402
    Building,
    Community,
    GridWorker,
    OutboxMessage,
    Report,
    ReportEvent,
    Resident,
    ResidentRole,
    Role,
    Status,
    Tier,
)
from scheduler.jobs import Runtime  # noqa: E402
from scheduler.report_jobs import escalate_overdue  # noqa: E402

# A Wednesday, 10:00 in Beijing: a working day, inside working hours.
SWEEP_AT = datetime(2025, 3, 12, 2, 0, tzinfo=timezone.utc)
CHUNK = 10_000
STAFF_PER_COMMUNITY = 3
IDLE_RUNS = 10
SCAN_RUNS = 5


# --- the database -----------------------------------------------------------------------------

def fresh_schema(url: str) -> None:
    """An empty database at the head revision (PostgreSQL: every table dropped first)."""
    if url.startswith("postgresql"):
        if make_url(url).database == "test":
            raise SystemExit("refusing to drop the tables of database 'test'")
        engine = make_engine(url)
        meta = MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
        engine.dispose()
    upgrade(url)


def people(sessions, n_reporters: int) -> dict:
    """Reporters, one followed 楼道长 per building and a few staff per community; returns
    what the report rows need: buildings, heads, grid workers and staff titles."""
    now = SWEEP_AT - timedelta(days=400)
    with transaction(sessions) as session:
        communities = dict(session.execute(select(Community.id, Community.name)).all())
        buildings = session.execute(select(Building.id, Building.community_id, Building.grid_id,
                                           Building.name).order_by(Building.id)).all()
        ids = sorted(communities)
        session.execute(insert(Resident), [
            {"openid": f"osla{i}", "community_id": ids[i % len(ids)], "followed": True,
             "registered_at": now, "created_at": now} for i in range(n_reporters)])
        session.execute(insert(Resident), [
            {"openid": f"osla-head-{b.id}", "name": f"{b.name}楼道长", "community_id": b.community_id,
             "building_id": b.id, "followed": True, "registered_at": now, "created_at": now}
            for b in buildings])
        session.execute(insert(Resident), [
            {"openid": f"osla-staff-{c}-{k}", "name": f"社工{k}", "community_id": c, "followed": True,
             "registered_at": now, "created_at": now} for c in ids for k in range(STAFF_PER_COMMUNITY)])
        first = session.scalar(select(Resident.id).where(Resident.openid == "osla0"))
        heads = dict(session.execute(select(Resident.building_id, Resident.id).where(
            Resident.openid.like("osla-head-%"))).all())
        staff = session.scalars(select(Resident.id).where(Resident.openid.like("osla-staff-%"))).all()
        session.execute(insert(ResidentRole), [
            {"resident_id": rid, "role": Role.BUILDING_HEAD, "granted_by": "bench", "granted_at": now}
            for rid in heads.values()] + [
            {"resident_id": rid, "role": Role.STAFF, "granted_by": "bench", "granted_at": now}
            for rid in staff])
        workers = {g: (r, t) for g, r, t in session.execute(
            select(GridWorker.grid_id, GridWorker.resident_id, GridWorker.title)
            .order_by(GridWorker.id.desc()))}  # the first worker of each grid wins
    return {"communities": communities, "buildings": buildings, "heads": heads, "workers": workers,
            "reporters": (first, n_reporters)}


def report_rows(config, world: dict, n_open: int, n_due: int, n_closed: int, seed_: int) -> Iterator[dict]:
    """Open reports in the shape filing and the clock leave them, then closed ones.

    Open: 40 % submitted, 25 % accepted, 35 % in progress. Of those not due, 70 % wait
    for their warning (escalation 0), 20 % were warned and wait for the deadline (1),
    10 % are already escalated (2, off the clock). The due ones fell due within the
    last hour: 60 % for the warning (deadline still ahead), 40 % past the deadline.
    """
    rng = random.Random(seed_)
    cats = [c for c in categories(config) if c.tier is not Tier.PRIVATE]  # 私事 are referred
    staff_title = {cid: say("community_staff_title", community=name)
                   for cid, name in world["communities"].items()}
    first, n_people = world["reporters"]
    now = SWEEP_AT
    for i in range(n_open + n_closed):
        cat = rng.choice(cats)
        b = rng.choice(world["buildings"])
        created = now - timedelta(minutes=rng.randrange(10, 20 * 24 * 60))
        status = Status.CLOSED if i >= n_open else rng.choices(
            (Status.SUBMITTED, Status.ACCEPTED, Status.IN_PROGRESS), (40, 25, 35))[0]
        accepting = status is Status.SUBMITTED
        # Who has it: a 小事 not yet accepted sits with the building's 楼道长, accepted
        # ones mostly with the grid worker; 大事 belong to community staff (no assignee).
        assignee, title = None, staff_title[b.community_id]
        if cat.tier is Tier.SMALL:
            if accepting or rng.random() < 0.3:
                assignee, title = world["heads"][b.id], say("building_head_title", building=b.name)
            else:
                assignee, title = world["workers"][b.grid_id]
        window = timedelta(hours=cat.accept_hours if accepting else cat.resolve_hours)
        if i >= n_open:  # closed: no clock
            escalation, check, deadline = rng.choice((0, 0, 0, 1, 2)), None, created + window
        elif i < n_due:  # due at the sweep moment
            check = now - timedelta(seconds=rng.randrange(0, 3600))
            escalation = 0 if rng.random() < 0.6 else 1
            deadline = check + window / 4 if escalation == 0 else check
        else:
            r = rng.random()
            escalation = 0 if r < 0.7 else 1 if r < 0.9 else 2
            ahead = now + timedelta(seconds=rng.randrange(60, 10 * 24 * 3600))
            if escalation == 0:
                check, deadline = ahead, ahead + window / 4
            elif escalation == 1:
                check = deadline = ahead
            else:
                check, deadline = None, now - timedelta(hours=rng.randrange(1, 200))
        accept_due = deadline if accepting else created + timedelta(hours=cat.accept_hours)
        resolve_due = created + window + timedelta(hours=cat.resolve_hours) if accepting else deadline
        rid = i + 1
        yield {"id": rid, "code": f"BS{rid:06d}", "public_id": f"{rng.getrandbits(64):016x}",
               "published": False, "resident_id": first + rng.randrange(n_people),
               "community_id": b.community_id, "grid_id": b.grid_id, "building_id": b.id,
               "category": cat.code, "tier": cat.tier, "description": f"第{rid}号：{cat.name}问题，请尽快处理",
               "address": b.name, "status": status, "assignee_id": assignee, "assignee_title": title,
               "source": "wechat", "accept_due_at": accept_due, "resolve_due_at": resolve_due,
               "escalation": escalation, "next_check_at": check,
               "accepted_at": None if accepting else created + timedelta(hours=1),
               "resolved_at": created + window if status is Status.CLOSED else None,
               "closed_at": created + window * 2 if status is Status.CLOSED else None,
               "updated_at": created, "created_at": created}


def fill(url: str, n_open: int, n_due: int, n_closed: int):
    fresh_schema(url)
    config = load_config(overrides={"database": {"url": url}}, environ={})
    seed(config)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    world = people(sessions, max(1000, n_open // 2))
    rows = report_rows(config, world, n_open, n_due, n_closed, seed_=11)
    while True:
        chunk = [row for _, row in zip(range(CHUNK), rows)]
        if not chunk:
            break
        with transaction(sessions) as session:
            session.execute(insert(Report), chunk)
    if url.startswith("postgresql"):  # keep ids after the bulk insert with explicit ids
        with engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('reports', 'id'), "
                              "(SELECT max(id) FROM reports))"))
    with engine.begin() as conn:  # planner statistics, as a live database would have
        conn.execute(text("ANALYZE"))
    return config, engine, sessions


# --- measuring ---------------------------------------------------------------------------------

class Statements:
    """Counts the SQL statements of a block and their database time, by verb and table."""

    SHAPE = re.compile(r"^\s*(?:(SELECT|DELETE)\b.*?\bFROM|(INSERT)\s+INTO|(UPDATE))\s+\"?(\w+)", re.I | re.S)
    JOIN = re.compile(r"\bJOIN\s+\"?(\w+)", re.I)

    def __init__(self, engine):
        self.engine, self.on = engine, False
        self.count, self.seconds, self.sql = defaultdict(int), defaultdict(float), {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        if not self.on:
            return
        found = self.SHAPE.match(statement)
        if found:
            verb = next(v for v in found.groups()[:3] if v).upper()
            key = " ".join([verb, found[4], *(f"⋈{t}" for t in self.JOIN.findall(statement))])
        else:
            key = statement.split()[0].upper()
        self.count[key] += 1
        self.seconds[key] += time.perf_counter() - conn.info.pop("bench_started")
        self.sql.setdefault(key, (statement, parameters))

    @contextmanager
    def watch(self) -> Iterator["Statements"]:
        self.count.clear(), self.seconds.clear(), self.sql.clear()
        self.on = True
        try:
            yield self
        finally:
            self.on = False

    def summary(self) -> str:
        return ", ".join(f"{k} ×{n} ({self.seconds[k] * 1000:.0f} ms)"
                         for k, n in sorted(self.count.items(), key=lambda kv: -kv[1]))


def full_scan_ms(engine) -> float:
    samples = []
    with engine.connect() as conn:
        for _ in range(SCAN_RUNS):
            started = time.perf_counter()
            conn.execute(select(func.count()).select_from(Report)).scalar()
            samples.append((time.perf_counter() - started) * 1000)
        conn.rollback()
    return statistics.median(samples)


def explain(engine, statement: str, parameters) -> str:
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
        conn.rollback()
    return "\n".join("    " + " ".join(str(c) for c in row[-1:]) for row in rows)


def high_water(sessions) -> tuple[int, int]:
    """The last outbox and timeline ids: what a sweep adds comes after them."""
    with sessions() as session:
        return (session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))),
                session.scalar(select(func.coalesce(func.max(ReportEvent.id), 0))))


def snapshot(sessions, n_due: int) -> list[dict]:
    """The due reports as filled (ids 1..n_due), to put them back between repeats."""
    table = Report.__table__
    with sessions() as session:
        return [dict(row._mapping) for row in session.execute(select(table).where(table.c.id <= n_due))]


def restore(sessions, rows: list[dict], marks: tuple[int, int]) -> None:
    """Undo a sweep: its outbox rows and timeline events go, the due reports are reset."""
    table = Report.__table__
    cols = [c.name for c in table.c if c.name != "id"]
    stmt = table.update().where(table.c.id == bindparam("b_id")).values(
        {c: bindparam(f"b_{c}") for c in cols})
    with transaction(sessions) as session:
        session.execute(delete(OutboxMessage).where(OutboxMessage.id > marks[0]))
        session.execute(delete(ReportEvent).where(ReportEvent.id > marks[1]))
        session.execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in rows])


def timed_sweep(rt) -> tuple[int, float, float]:
    """One `escalate_overdue` (a committed unit): (handled, wall s, this process's CPU s)."""
    wall, cpu = time.perf_counter(), time.process_time()
    handled = escalate_overdue(rt)
    return handled, time.perf_counter() - wall, time.process_time() - cpu


def run(url: str, n_open: int, n_due: int, n_closed: int, repeat: int, show_plans: bool) -> dict:
    backend = make_url(url).get_backend_name()
    started = time.monotonic()
    config, engine, sessions = fill(url, n_open, n_due, n_closed)
    print(f"{backend}: filled {n_open} open (+{n_closed} closed) reports in "
          f"{time.monotonic() - started:.0f}s", flush=True)
    clock = ManualClock(SWEEP_AT - timedelta(hours=1, seconds=1))  # before the first due point
    rt = Runtime(config, sessions, None, clock)
    stmts = Statements(engine)

    # (b) idle: nothing due yet; this also warms the caches as the 5-minute job would.
    idle = [timed_sweep(rt) for _ in range(IDLE_RUNS)]
    assert not any(n for n, _, _ in idle)
    with stmts.watch():
        escalate_overdue(rt)
    idle_sql = stmts.summary()

    # (a) the sweep with the due reports, `repeat` times (reset in between).
    clock.set(SWEEP_AT)
    marks, due_rows = high_water(sessions), snapshot(sessions, n_due)
    sweeps = []
    for k in range(repeat):
        if k:
            restore(sessions, due_rows, marks)
        with stmts.watch():
            sweeps.append(timed_sweep(rt))
    due_sql, plans = stmts.summary(), dict(stmts.sql)
    handled = sweeps[-1][0]
    assert len({n for n, _, _ in sweeps}) == 1, "a repeat handled a different number"
    with sessions() as session:
        by_kind = dict(session.execute(select(OutboxMessage.kind, func.count()).where(
            OutboxMessage.id > marks[0]).group_by(OutboxMessage.kind)).all())
        events = session.scalar(select(func.count()).where(ReportEvent.id > marks[1]))
    # idle again, now that the due reports have moved on (warned, escalated, taken over)
    idle_after = [timed_sweep(rt) for _ in range(IDLE_RUNS)]
    assert not any(n for n, _, _ in idle_after)
    scan = full_scan_ms(engine)
    print(f"  due sweep: {handled} handled, {sum(by_kind.values())} outbox rows {by_kind}, "
          f"{events} timeline events; wall s {', '.join(f'{w:.3f}' for _, w, _ in sweeps)}")
    print(f"  due sweep statements: {sum(stmts.count.values())}: {due_sql}")
    print(f"  idle sweep statements: {idle_sql}")
    if show_plans:
        for key, (statement, parameters) in plans.items():
            if key == "SELECT reports" or key.startswith("SELECT residents ⋈"):
                print(f"  plan of {key}:\n{explain(engine, statement, parameters)}")
    engine.dispose()
    sweep_s = statistics.median(w for _, w, _ in sweeps)
    return {"backend": backend, "open": n_open, "closed": n_closed, "due": handled, "sweep_s": sweep_s,
            "cpu_s": statistics.median(c for _, _, c in sweeps),
            "per_due_ms": sweep_s * 1000 / max(1, handled),
            "idle_ms": statistics.median(w for _, w, _ in idle) * 1000,
            "idle_after_ms": statistics.median(w for _, w, _ in idle_after) * 1000,
            "scan_ms": scan, "ratio": sweep_s * 1000 / scan}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="open reports")
    parser.add_argument("--due", type=int, default=None, help="due at the sweep (default n/100)")
    parser.add_argument("--closed", type=int, default=0, help="closed reports besides the open ones")
    parser.add_argument("--repeat", type=int, default=3, help="due sweeps to time (median shown)")
    parser.add_argument("--pg", metavar="URL", help="also run on this PostgreSQL database")
    parser.add_argument("--explain", action="store_true", help="print query plans")
    args = parser.parse_args()
    due = args.n // 100 if args.due is None else args.due
    tmp = Path(tempfile.mkdtemp(prefix="linli-sla-"))
    urls = [f"sqlite:///{tmp / 'sla.db'}"] + ([args.pg] if args.pg else [])
    try:
        results = [run(url, args.n, due, args.closed, max(1, args.repeat), args.explain) for url in urls]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'backend':<11}{'open':>8}{'closed':>8}{'due':>6}{'sweep s':>9}{'cpu s':>7}{'ms/due':>8}"
          f"{'idle ms':>9}{'idle2 ms':>9}{'scan ms':>9}{'ratio':>7}")
    for r in results:
        print(f"{r['backend']:<11}{r['open']:>8}{r['closed']:>8}{r['due']:>6}{r['sweep_s']:>9.3f}"
              f"{r['cpu_s']:>7.2f}{r['per_due_ms']:>8.2f}{r['idle_ms']:>9.1f}{r['idle_after_ms']:>9.1f}"
              f"{r['scan_ms']:>9.1f}{r['ratio']:>7.1f}")
    print("sweep s: median wall time of the sweep with the due reports (one committed unit); cpu s:\n"
          "this process's CPU time in it (Python and SQLite; PostgreSQL's server work excluded);\n"
          "ms/due: per handled report; idle ms: median sweep with nothing due (idle2: after the due\n"
          "sweep); scan ms: median SELECT count(*) FROM reports; ratio: sweep / scan. Target: < 1 s.")


if __name__ == "__main__":
    main()
