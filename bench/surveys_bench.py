"""Benchmark: a survey's results page at municipal scale.

Builds a fresh database with R residents, one identified survey of six questions
(CSAT, NPS, CES, single choice, multiple choice, long text) and N responses with
their answers (bulk inserts), then measures through the test client, signed in
as a manager, in the same run:

- the baseline: ``/healthz`` (the cost of a request through the app at all);
- the results page *warm*: median and p95 over --requests requests, the counts
  kept from the first view (no response arrived in between) — the target is
  p95 ≤ 150 ms on SQLite;
- the results page *cold*: the counts read again from the answers each time (the
  cost of the first view after a new response), median of --cold requests;
- and each one's ratio to the baseline.

    python bench/surveys_bench.py                        # SQLite, 10⁵ residents, 2·10⁵ responses
    python bench/surveys_bench.py --database postgresql  # PORTAL_BENCH_DATABASE_URL or wt_results

Two more parts run after it (``--part`` picks one; all three by default):

- **invitations** (``bench/survey_invitations_part.py``): creating 50 000
  invitations with their outbox rows through the job, against a raw
  ``INSERT … SELECT`` of the same rows in the same run (target ratio ≤ 3);
- **satisfaction** (``bench/survey_satisfaction_part.py``): the recompute with the
  satisfaction measure (residents who answered identified surveys about the
  services) against the same recompute without the answers, interleaved (target
  ≤ 1.3×); ``--sat-residents/--sat-events/--sat-responses`` set its size.

PostgreSQL: PORTAL_BENCH_DATABASE_URL (default the ``portal_bench`` database,
created when missing); its schema is dropped and rebuilt by every part — never
point it at a database the tests are using.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text

from bench.scoring_bench import reset
from portal.app import create_app
from portal.auth import sessions
from portal.auth.models import Role, User
from portal.extensions import db
from portal.residents.models import Resident
from portal.services.catalogue import load_catalogue
from portal.services.models import Service
from portal.surveys import results
from portal.surveys.models import Answer, Question, Response, Survey
from portal.timeutil import local_today

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench"
DISTRICTS = ["中央", "北町", "南町", "東町", "西町", "桜ヶ丘", "川辺", "緑町"]
AGE_BANDS = ["0-17", "18-39", "40-64", "65-74", "75+"]
CHANNELS = ["web", "email", "paper", "phone", "counter", "kiosk"]
OPTIONS = ["bus", "train", "car", "bicycle", "walk"]
BATCH = 50_000


def _insert(table, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(table), rows[start:start + BATCH])


def populate(residents: int, responses: int, seed: int) -> int:
    """Residents, the survey and its responses; returns the survey's id."""
    rng = random.Random(seed)
    load_catalogue()
    db.session.commit()
    year = local_today().year
    now = datetime.now(UTC).replace(microsecond=0)
    created = now - timedelta(days=800)
    _insert(Resident.__table__, [
        {"id": n + 1, "external_id": f"B{n:07d}", "family_name": "山田", "given_name": f"{n}",
         "family_name_kana": "ヤマダ", "given_name_kana": "", "name_latin": "",
         "district": rng.choice(DISTRICTS), "birth_year": year - rng.randint(0, 95),
         "preferred_locale": "ja" if rng.random() < 0.9 else "en",
         "preferred_channels": ["email"], "consent_outreach": True, "consent_profiling": True,
         "do_not_contact": False, "created_at": created, "updated_at": created}
        for n in range(residents)])
    service = db.session.scalar(select(Service).where(Service.slug == "library-loans"))
    survey = Survey(department_id=service.department_id, service_id=service.id,
                    title_ja="図書館アンケート", title_en="Library survey", status="open",
                    anonymous=False, opened_at=now - timedelta(days=200))
    kinds = ["csat", "nps", "ces", "single", "multiple", "long_text"]
    for position, kind in enumerate(kinds):
        options = ([{"value": o, "label_ja": o, "label_en": o.title()} for o in OPTIONS]
                   if kind in ("single", "multiple") else None)
        survey.questions.append(Question(key=f"q{position + 1}", position=position, type=kind,
                                         text_ja=f"質問{position + 1}",
                                         text_en=f"Question {position + 1}", options=options))
    db.session.add(survey)
    db.session.commit()
    q = {question.type: question.id for question in survey.questions}
    response_rows, answer_rows = [], []
    answer_id = 0

    def answer(response_id, question_id, number=None, choice=None, text_=None):
        nonlocal answer_id
        answer_id += 1
        answer_rows.append({"id": answer_id, "response_id": response_id,
                            "question_id": question_id, "number": number, "choice": choice,
                            "text": text_})

    for n in range(responses):
        rid = n + 1
        csat, nps, ces = rng.randint(1, 5), rng.randint(0, 10), rng.randint(1, 7)
        moment = now - timedelta(seconds=rng.randint(0, 180 * 86400))
        response_rows.append({
            "id": rid, "survey_id": survey.id, "resident_id": rng.randint(1, residents),
            "channel": rng.choice(CHANNELS), "submission_key": f"s{rid}",
            "submitted_at": moment, "district": rng.choice(DISTRICTS),
            "age_band": rng.choice(AGE_BANDS), "locale": "ja" if rng.random() < 0.9 else "en",
            "detractor": nps <= 6 or csat <= 2 or ces <= 2})
        answer(rid, q["csat"], number=csat)
        answer(rid, q["nps"], number=nps)
        answer(rid, q["ces"], number=ces)
        answer(rid, q["single"], choice=rng.choice(OPTIONS))
        for option in rng.sample(OPTIONS, rng.randint(1, 3)):
            answer(rid, q["multiple"], choice=option)
        if rng.random() < 0.2:
            answer(rid, q["long_text"], text_=f"感想 {rid}: 開館時間をもう少し長くしてほしい")
        if len(answer_rows) >= 200_000:
            _insert(Response.__table__, response_rows)
            _insert(Answer.__table__, answer_rows)
            response_rows, answer_rows = [], []
    _insert(Response.__table__, response_rows)
    _insert(Answer.__table__, answer_rows)
    db.session.add(User(email="manager@bench.example", display_name="Bench", role="manager",
                        password_hash="!unusable", active=True))  # noqa: S106
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"  populated {residents} residents, {responses} responses, {answer_id} answers",
          flush=True)
    return survey.id


def signed_in_client(app):
    client = app.test_client()
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.role == Role.MANAGER))
        sessions.start(manager, ip="127.0.0.1", user_agent="surveys bench")
        login_id = manager.get_id()
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = login_id
        session["_fresh"] = True
    return client


def page_times(client, path: str, requests: int, before=None) -> list[float]:
    times = []
    for _ in range(requests):
        if before:
            before()
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return sorted(times)


def summary(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def results_page(app, survey_id: int, requests: int, cold: int) -> dict:
    """Baseline, the warm page (p50, p95) and the cold page (p50), in seconds."""
    client = signed_in_client(app)
    path = f"/admin/surveys/{survey_id}/results"
    page_times(client, "/healthz", 5)  # warm up the app
    baseline = summary(page_times(client, "/healthz", requests))
    cold_times = page_times(client, path, cold, before=results.clear_cache)
    warm = summary(page_times(client, path, requests))
    return {"baseline": baseline, "warm": warm, "cold": summary(cold_times),
            "warm_ratio": warm[1] / baseline[1]}


def bench(url: str, args) -> dict:
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url,
                                 "INSTANCE_PATH": tempfile.mkdtemp()})
    reset(app)
    with app.app_context():
        started = time.perf_counter()
        survey_id = populate(args.residents, args.responses, args.seed)
        populate_s = time.perf_counter() - started
    figures = results_page(app, survey_id, args.requests, args.cold)
    figures["populate_s"] = populate_s
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--responses", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"],
                        default="sqlite")
    parser.add_argument("--part", choices=["all", "results", "invitations", "satisfaction"],
                        default="all")
    parser.add_argument("--invitations", type=int, default=50_000)
    parser.add_argument("--sat-residents", type=int, default=100_000)
    parser.add_argument("--sat-events", type=int, default=5_000_000)
    parser.add_argument("--sat-responses", type=int, default=200_000)
    args = parser.parse_args()
    targets = []
    if args.database in ("sqlite", "both"):
        targets.append(("SQLite", f"sqlite:///{tempfile.mkdtemp()}/bench.db"))
    if args.database in ("postgresql", "both"):
        targets.append(("PostgreSQL", os.environ.get("PORTAL_BENCH_DATABASE_URL", PG_DEFAULT)))
    for name, url in targets:
        if url.startswith("postgresql"):
            from bench.scoring_bench import ensure_database

            ensure_database(url)
        if args.part in ("all", "results"):
            results_part(name, url, args)
        if args.part in ("all", "invitations"):
            invitations_part(name, url, args)
        if args.part in ("all", "satisfaction"):
            satisfaction_part(name, url, args)


def invitations_part(name: str, url: str, args) -> None:
    from bench import survey_invitations_part as part

    print(f"{name}: {args.invitations} invitations with their outbox rows", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        if not url.startswith("postgresql"):
            url = f"sqlite:///{folder}/invitations.db"
        result = part.measure(part.build(url, args.invitations, folder), args.invitations)
    print(f"  job (send_invitations): median {result['job_s']:.3f} s")
    print(f"  raw INSERT … SELECT:    median {result['raw_s']:.3f} s")
    print(f"  ratio {result['ratio']:.2f} (target ≤ 3)", flush=True)


def satisfaction_part(name: str, url: str, args) -> None:
    from bench import survey_satisfaction_part as part

    if not url.startswith("postgresql"):
        url = f"sqlite:///{tempfile.mkdtemp()}/satisfaction.db"
    print(f"{name}: the recompute with and without the satisfaction measure, "
          f"{args.sat_residents} residents, {args.sat_events} events, "
          f"{args.sat_responses} responses", flush=True)
    r = part.measure(url, residents=args.sat_residents, events=args.sat_events,
                     responses=args.sat_responses, runs=3, seed=args.seed)
    print(part.report(r), flush=True)


def results_part(name: str, url: str, args) -> None:
    print(f"{name}: {args.residents} residents, {args.responses} responses", flush=True)
    figures = bench(url, args)
    ms = {key: tuple(round(v * 1000, 1) for v in figures[key])
          for key in ("baseline", "warm", "cold")}
    print(f"  populate {figures['populate_s']:.1f} s")
    print(f"  baseline /healthz: median {ms['baseline'][0]} ms, p95 {ms['baseline'][1]} ms")
    print(f"  results page (warm, {args.requests} requests): median {ms['warm'][0]} ms, "
          f"p95 {ms['warm'][1]} ms (target p95 ≤ 150 ms on SQLite) — "
          f"{figures['warm_ratio']:.1f}× the baseline p95")
    print(f"  results page (cold, counts read again, {args.cold} requests): "
          f"median {ms['cold'][0]} ms")


if __name__ == "__main__":
    main()
