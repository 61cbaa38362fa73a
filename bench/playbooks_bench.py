"""Benchmark: evaluating the playbooks at municipal scale, and My work at 50 000 open
cases.

Builds a fresh database (SQLite file by default, PostgreSQL with ``--database
postgresql`` or ``both``) with ``bench/scoring_bench.py``'s populate (R residents,
the 20 seeded services, E usage events) and the daily recompute's scores, then the
signals the starter playbooks read besides the scores — life events (moved in,
child born), residents registered in the last days, overdue inquiries — and the
eight starter playbooks of ``portal seed``, all active. Then, in the same run:

- **scan** (the baseline): one plain scan of the current scores table,
  ``SELECT count(*), sum(score) FROM engagement_scores``;
- **first evaluation**: ``portal.playbooks.evaluation.evaluate()`` from no cases —
  opening (one INSERT … SELECT per playbook), auto-close, the due steps of day 0
  (tasks, e-mails and letters through the guards and the contact budget) and the
  measuring; ratio against the scan (target ≤ 3), with the time inside the steps
  apart (the rest is *deciding*: opening, holdout, cooldown, auto-close) and the
  floor of deciding: the opened cases' rows written again into an empty copy of the
  table with the same indexes (sending the queued e-mails is the outbox worker's,
  not timed);
- **second evaluation** right after (nothing new to open; target ≤ the first);
- rounds are interleaved (scan, first, second; the cases removed between rounds,
  untimed) and medians are quoted;
- **My work** at 50 000 open cases: cases and their call tasks added to the
  evaluation's until 50 000 are open, then ``/admin/work/`` through the test client
  as a library staff member and as a manager, median and p95 over --requests
  requests each, with ``/healthz`` in the same run as the floor.

    python bench/playbooks_bench.py                       # SQLite, 100 000 residents
    python bench/playbooks_bench.py --database both
    python bench/playbooks_bench.py --residents 20000 --events 1000000   # a quick look

PostgreSQL: PORTAL_BENCH_DATABASE_URL (default the ``portal_bench`` database, created
when missing); its schema is dropped and rebuilt — never point it at a database the
tests are using.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, func, insert, select, text, update

from bench.scoring_bench import PG_DEFAULT, ensure_database, populate, reset
from portal.app import create_app
from portal.auth import sessions
from portal.auth.models import Role, User
from portal.engagement.scoring import recompute
from portal.extensions import db
from portal.inquiries.models import Inquiry
from portal.mail import outbox
from portal.mail.models import OutboundMessage
from portal.outreach.models import LetterBatch, OutreachMessage, Touchpoint
from portal.playbooks import evaluation
from portal.playbooks.evaluation import evaluate
from portal.playbooks.models import Case, CaseNote, Playbook, PlaybookStatus
from portal.playbooks.starter import seed_starter_playbooks
from portal.residents.models import LifeEvent, Resident
from portal.services.models import Department, Service
from portal.surveys.models import Invitation
from portal.timeutil import local_today, utcnow
from portal.work.models import Task

OPEN_CASES = 50_000

#: seconds spent inside the steps (tasks, messages, survey invitations, waits) and the
#: measuring during the timed evaluations: the rest is deciding who enters and leaves
PHASES = {"steps": 0.0, "measure": 0.0}


def _timed_phase(name: str, function):
    def wrapped(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            PHASES[name] += time.perf_counter() - started
    return wrapped


evaluation._playbook_steps = _timed_phase("steps", evaluation._playbook_steps)
# the e-mails the steps queue are the outbox worker's to send, not the evaluation's:
# with the jobs inline the bench would otherwise time 200 deliveries per evaluation
outbox.dispatch = lambda: None
evaluation.measure = _timed_phase("measure", evaluation.measure)


def signals(seed: int) -> dict[str, int]:
    """What the non-score triggers read: life events, new registrations, overdue
    inquiries; contact data so that messages have somewhere to go."""
    rng = random.Random(seed)
    now = utcnow()
    today = local_today()
    ids = db.session.scalars(select(Resident.id).order_by(Resident.id)).all()
    # most residents can be written to (the guards still decide): e-mail or a letter
    db.session.execute(update(Resident).values(
        email=func.concat("r", Resident.id, "@bench.example") if db.engine.dialect.name
        == "postgresql" else ("r" + Resident.id.cast(db.String) + "@bench.example"),
        postal_code="100-0001", address="桜川市中央1-1"))
    db.session.execute(update(Resident).where(Resident.id % 10 == 0).values(
        consent_outreach=False))
    events = []
    for rid in rng.sample(ids, len(ids) // 50):
        events.append({"resident_id": rid, "kind": "moved_in", "source": "import",
                       "occurred_on": today - timedelta(days=rng.randint(0, 40))})
    for rid in rng.sample(ids, len(ids) // 100):
        events.append({"resident_id": rid, "kind": "child_born", "source": "import",
                       "occurred_on": today - timedelta(days=rng.randint(0, 90))})
    seen = set()
    events = [e for e in events if not ((e["resident_id"], e["kind"]) in seen
                                        or seen.add((e["resident_id"], e["kind"])))]
    db.session.execute(insert(LifeEvent), events)
    recent = rng.sample(ids, len(ids) // 100)
    for start in range(0, len(recent), 5000):
        db.session.execute(update(Resident).where(Resident.id.in_(recent[start:start + 5000]))
                           .values(created_at=now - timedelta(days=rng.randint(0, 45))))
    services = db.session.scalars(select(Service)).all()
    inquiries = []
    for n, rid in enumerate(rng.sample(ids, len(ids) // 100)):
        service = rng.choice(services)
        received = now - timedelta(days=rng.randint(5, 40))
        inquiries.append({"resident_id": rid, "service_id": service.id,
                          "department_id": service.department_id, "category": "question",
                          "channel": "web", "status": "open", "subject": f"問い合わせ {n}",
                          "locale": "ja", "created_at": received, "updated_at": received,
                          "first_response_due_at": received + timedelta(days=2),
                          "resolution_due_at": received + timedelta(days=4),
                          "due_at": received + timedelta(days=2)})
    db.session.execute(insert(Inquiry), inquiries)
    db.session.commit()
    return {"life_events": len(events), "new_residents": len(recent),
            "overdue_inquiries": len(inquiries)}


def clear_cases() -> None:
    """Back to no cases (between rounds; not timed)."""
    db.session.execute(delete(Touchpoint))
    db.session.execute(delete(OutreachMessage))
    db.session.execute(delete(LetterBatch))
    db.session.execute(delete(OutboundMessage))
    db.session.execute(delete(Invitation).where(Invitation.occasion.like("case:%")))
    db.session.execute(delete(Task))
    db.session.execute(delete(CaseNote))
    db.session.execute(delete(Case))
    db.session.commit()


def fill_open_cases(target: int) -> int:
    """Open cases of the library playbook until ``target`` are open, then a call task
    for every open case that has none (its playbook's department's queue): one
    INSERT … SELECT each."""
    library = db.session.scalar(select(Playbook).where(Playbook.key.like("library%")))
    have = db.session.scalar(select(func.count()).select_from(Case)
                             .where(Case.closed_at.is_(None))) or 0
    missing = max(target - have, 0)
    if not missing:
        _tasks_for_open_cases()
        return have
    r = Resident.__table__
    taken = select(Case.resident_id).where(Case.playbook_id == library.id)
    now = utcnow()
    db.session.execute(insert(Case).from_select(
        ["playbook_id", "playbook_version", "resident_id", "service_id", "service_key",
         "held_out", "status", "opened_at", "next_step", "outcome_note"],
        select(db.literal(library.id), db.literal(library.version), r.c.id,
               db.literal(library.service_id), db.literal(library.service_id),
               db.literal(False), db.literal("open"), db.literal(now, db.DateTime(timezone=True)),
               db.literal(99), db.literal(""))
        .where(r.c.id.not_in(taken)).order_by(r.c.id).limit(missing)))
    db.session.commit()
    _tasks_for_open_cases()
    return db.session.scalar(select(func.count()).select_from(Case)
                             .where(Case.closed_at.is_(None)))


def write_floor() -> float:
    """The least the opening must do: the cases it opened written again (INSERT …
    SELECT) into an empty copy of ``playbook_cases`` with the same indexes, in one
    committed transaction; returns its seconds."""
    table = Case.__table__
    names = ", ".join(c.name for c in table.columns)
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("CREATE TABLE bench_cases (LIKE playbook_cases "
                              "INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
            conn.execute(text("ALTER TABLE bench_cases ADD PRIMARY KEY (id)"))
        else:
            ddl = conn.execute(text("SELECT sql FROM sqlite_master "
                                    "WHERE name = 'playbook_cases'")).scalar()
            conn.execute(text(ddl.replace("playbook_cases", "bench_cases", 1)
                              .replace("pk_playbook_cases", "pk_bench_cases")))
        for index in table.indexes:
            columns = ", ".join(c.name for c in index.columns)
            where = " WHERE closed_at IS NULL" if index.unique else ""
            unique = "UNIQUE " if index.unique else ""
            conn.execute(text(f"CREATE {unique}INDEX {index.name}_bench ON bench_cases "
                              f"({columns}){where}"))
    started = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text(f"INSERT INTO bench_cases ({names}) SELECT {names} "
                          "FROM playbook_cases ORDER BY id"))
    took = time.perf_counter() - started
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_cases"))
    return took


def _tasks_for_open_cases() -> None:
    c, t, p = Case.__table__, Task.__table__, Playbook.__table__
    today = local_today()
    has_task = select(t.c.id).where(t.c.case_id == c.c.id, t.c.status == "open").exists()
    db.session.execute(insert(Task).from_select(
        ["case_id", "step", "resident_id", "department_id", "title_ja", "title_en", "due_on",
         "status", "note"],
        select(c.c.id, db.literal(0), c.c.resident_id, p.c.department_id,
               db.literal("電話でご様子を伺う"), db.literal("Call the resident"),
               (db.literal(today) if db.engine.dialect.name == "postgresql"
                else db.literal(today.isoformat())), db.literal("open"), db.literal(""))
        .select_from(c.join(p, p.c.id == c.c.playbook_id))
        .where(c.c.closed_at.is_(None), ~has_task)))
    db.session.commit()


def page_times(app, user_id: int, path: str, requests: int) -> tuple[float, float]:
    client = app.test_client()
    with app.app_context():
        user = db.session.get(User, user_id)
        sessions.start(user, ip="127.0.0.1", user_agent="playbooks bench")
        login_id = user.get_id()
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = login_id
        session["_fresh"] = True
    client.get(path)  # warm
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def analyze() -> None:
    db.session.commit()  # the session's own transaction ends first (SQLite: one writer)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def bench(url: str, args) -> dict:
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url,
                                 "INSTANCE_PATH": tempfile.mkdtemp(), "JOBS_INLINE": True})
    reset(app)
    results: dict = {}
    with app.app_context():
        started = time.perf_counter()
        populate(args.residents, args.events, args.seed)
        recompute(local_today() - timedelta(days=1))
        db.session.commit()
        results["signals"] = signals(args.seed)
        seed_starter_playbooks()
        db.session.execute(update(Playbook).values(status=PlaybookStatus.ACTIVE))
        library = db.session.scalar(select(Department.id).where(Department.code == "library"))
        staff = User(email="staff@bench.example", display_name="Bench staff", role=Role.STAFF,
                     department_id=library, password_hash="!unusable", active=True)  # noqa: S106
        manager = User(email="manager@bench.example", display_name="Bench manager",
                       role=Role.MANAGER, password_hash="!unusable", active=True)  # noqa: S106
        db.session.add_all([staff, manager])
        db.session.commit()
        staff_id, manager_id = staff.id, manager.id
        results["populate_s"] = time.perf_counter() - started
        results["scores"] = db.session.scalar(text("SELECT count(*) FROM engagement_scores"))
        analyze()

        def scan():
            with db.engine.connect() as conn:
                conn.execute(text("SELECT count(*), sum(score) FROM engagement_scores")).one()

        scan()
        scans, firsts, seconds, first_steps, first_decide, floors = [], [], [], [], [], []
        for round_ in range(args.runs):
            clear_cases()
            if round_ == 0:
                analyze()
            started = time.perf_counter()
            scan()
            scans.append(time.perf_counter() - started)
            now = utcnow()
            PHASES.update(steps=0.0, measure=0.0)
            started = time.perf_counter()
            first = evaluate(now)
            firsts.append(time.perf_counter() - started)
            first_steps.append(PHASES["steps"])
            first_decide.append(firsts[-1] - PHASES["steps"] - PHASES["measure"])
            db.session.commit()
            floors.append(write_floor())
            started = time.perf_counter()
            second = evaluate(now + timedelta(minutes=1))
            seconds.append(time.perf_counter() - started)
        results.update(
            scan_s=statistics.median(scans), first_s=statistics.median(firsts),
            decide_s=statistics.median(first_decide), steps_s=statistics.median(first_steps),
            floor_s=statistics.median(floors),
            second_s=statistics.median(seconds),
            opened=sum(r.opened for r in first), held_out=sum(r.held_out for r in first),
            steps=sum(r.steps for r in first),
            second_opened=sum(r.opened for r in second),
            failed=[r.failed for r in first + second if r.failed],
            messages=db.session.scalar(select(func.count()).select_from(OutreachMessage)),
            suppressed=db.session.scalar(select(func.count()).select_from(OutreachMessage)
                                         .where(OutreachMessage.status == "suppressed")),
            tasks=db.session.scalar(select(func.count()).select_from(Task)))
        results["ratio"] = results["first_s"] / results["scan_s"]
        results["decide_ratio"] = results["decide_s"] / results["scan_s"]
        results["second_ratio"] = results["second_s"] / results["first_s"]
        results["open_cases"] = fill_open_cases(OPEN_CASES)
        results["open_tasks"] = db.session.scalar(
            select(func.count()).select_from(Task).where(Task.status == "open"))
        analyze()
    results["healthz"] = page_times(app, staff_id, "/healthz", args.requests)
    results["work_staff"] = page_times(app, staff_id, "/admin/work/", args.requests)
    results["work_manager"] = page_times(app, manager_id, "/admin/work/", args.requests)
    return results


def report(name: str, r: dict) -> None:
    ms = lambda pair: f"median {pair[0] * 1000:.1f} ms, p95 {pair[1] * 1000:.1f} ms"  # noqa: E731
    print(f"\n== {name}")
    print(f"  populate + scores + signals: {r['populate_s']:.1f} s; {r['scores']} scores; "
          f"signals {r['signals']}")
    print(f"  plain scan of engagement_scores: {r['scan_s'] * 1000:.0f} ms")
    print(f"  first evaluation: {r['first_s']:.2f} s = {r['ratio']:.2f} x the scan "
          f"(target <= 3); opened {r['opened']} cases ({r['held_out']} held out), "
          f"{r['steps']} case steps, {r['tasks']} tasks, {r['messages']} messages "
          f"({r['suppressed']} not sent)")
    print(f"    of which deciding (open, holdout, cooldown, auto-close): {r['decide_s']:.2f} s = "
          f"{r['decide_ratio']:.2f} x the scan; the day-0 steps: {r['steps_s']:.2f} s")
    print(f"    the floor: writing the {r['opened']} opened cases again into a copy with the "
          f"same indexes: {r['floor_s']:.2f} s = {r['floor_s'] / r['scan_s']:.2f} x the scan; "
          f"deciding = {r['decide_s'] / r['floor_s']:.2f} x that floor")
    print(f"  second evaluation: {r['second_s']:.2f} s = {r['second_ratio']:.2f} x the first "
          f"(target <= 1); opened {r['second_opened']}")
    if r["failed"]:
        print(f"  FAILED playbooks: {r['failed']}")
    print(f"  My work at {r['open_cases']} open cases ({r['open_tasks']} open tasks):")
    print(f"    /healthz            {ms(r['healthz'])}")
    print(f"    /admin/work/ staff   {ms(r['work_staff'])}")
    print(f"    /admin/work/ manager {ms(r['work_manager'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="sqlite")
    args = parser.parse_args()
    if args.database in ("sqlite", "both"):
        path = Path(tempfile.mkdtemp()) / "playbooks_bench.db"
        report("SQLite", bench(f"sqlite:///{path}", args))
    if args.database in ("postgresql", "both"):
        url = os.environ.get("PORTAL_BENCH_DATABASE_URL", PG_DEFAULT)
        ensure_database(url)
        report("PostgreSQL", bench(url, args))


if __name__ == "__main__":
    main()
