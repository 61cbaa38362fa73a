"""Bench part: the engagement recompute with the survey *satisfaction* measure
against the same recompute without survey answers, in the same run.

Builds a fresh database with ``bench/scoring_bench.py``'s populate (R residents,
the 20 seeded services, E usage events), then one identified survey per service
(a CSAT and an NPS question) and N responses, each with a CSAT and an NPS answer,
by residents about a service they use, submitted over the last 400 days (so
some fall outside the 365-day window). Then, interleaved (the shared machine's
noise touches both alike), ``runs`` times each, every run the next day's daily
recompute:

- **without** answers: the survey responses and answers tables set aside (renamed,
  an empty table of each in their place — the state before anyone answered);
- **with** answers: the tables back.

The figure is the ratio of the medians (target ≤ 1.3). ``measure`` returns the
figures as a dict; ``bench/surveys_bench.py`` prints them with its own.

    python bench/survey_satisfaction_part.py                        # 20 000 × 1 000 000 + 40 000
    python bench/survey_satisfaction_part.py --residents 100000 --events 5000000 --responses 200000
    python bench/survey_satisfaction_part.py --database postgresql

The PostgreSQL database (``--pg-url``, default the ``wt_score`` one) is dropped
and rebuilt: never point it at a database that matters.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text

from bench.scoring_bench import ensure_database, populate, reset
from portal.app import create_app
from portal.engagement.models import EngagementScore
from portal.engagement.scoring import recompute
from portal.extensions import db
from portal.services.models import Service
from portal.surveys.models import Answer, Question, Response, Survey
from portal.timeutil import local_today

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench"
HIDDEN = {"survey_answers": "bench_answers_aside", "survey_responses": "bench_responses_aside"}


def add_responses(responses: int, seed: int) -> dict:
    """One identified survey per service with a CSAT and an NPS question, and
    ``responses`` responses of two answers each by residents about services they
    use. Bulk inserts (COPY on PostgreSQL)."""
    rng = random.Random(seed)
    services = db.session.scalars(select(Service).order_by(Service.id)).all()
    questions = {}
    for service in services:
        survey = Survey(department_id=service.department_id, service_id=service.id,
                        anonymous=False, status="open", title_ja=f"{service.name_ja}について",
                        title_en=f"About {service.name_en}")
        survey.questions = [Question(key="csat", position=1, type="csat", text_ja="満足度",
                                     text_en="Satisfaction"),
                            Question(key="nps", position=2, type="nps", text_ja="推奨度",
                                     text_en="Recommend")]
        db.session.add(survey)
        db.session.flush()
        questions[service.id] = (survey.id, survey.questions[0].id, survey.questions[1].id)
    db.session.commit()
    pairs = db.session.execute(text(
        "SELECT resident_id, service_id FROM usage_events GROUP BY resident_id, service_id"
    )).all()
    now = datetime.now(UTC).replace(microsecond=0)
    first_id = (db.session.scalar(select(func.max(Response.id))) or 0) + 1
    response_rows, answer_rows = [], []
    for n in range(responses):
        resident_id, service_id = pairs[rng.randrange(len(pairs))]
        survey_id, csat_id, nps_id = questions[service_id]
        rid = first_id + n
        csat, nps = rng.randint(1, 5), rng.randint(0, 10)
        response_rows.append((rid, survey_id, resident_id, "web", f"b{rid}",
                              now - timedelta(seconds=rng.randint(0, 400 * 86400)),
                              nps <= 6 or csat <= 2))
        answer_rows += [(2 * rid, rid, csat_id, csat), (2 * rid + 1, rid, nps_id, nps)]
    _bulk(Response.__table__, ("id", "survey_id", "resident_id", "channel", "submission_key",
                               "submitted_at", "detractor"), response_rows)
    _bulk(Answer.__table__, ("id", "response_id", "question_id", "number"), answer_rows)
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        for table in ("survey_responses", "survey_answers"):
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
    db.session.commit()
    return {"responses": len(response_rows), "answers": len(answer_rows)}


def _bulk(table, columns, rows) -> None:
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor().copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        for start in range(0, len(rows), 50_000):
            connection.execute(insert(table), [dict(zip(columns, row, strict=True))
                                               for row in rows[start:start + 50_000]])


def set_answers_aside(aside: bool) -> None:
    """Rename the responses and answers away (an empty table of each in their
    place), or back. Renames: the same rows, pages and statistics come back."""
    with db.engine.begin() as conn:
        if aside:
            for table, hidden in HIDDEN.items():
                conn.execute(text(f"ALTER TABLE {table} RENAME TO {hidden}"))
            for table, hidden in HIDDEN.items():
                conn.execute(text(f"CREATE TABLE {table} AS SELECT * FROM {hidden} LIMIT 0"))
        else:
            for table, hidden in HIDDEN.items():
                conn.execute(text(f"DROP TABLE {table}"))
                conn.execute(text(f"ALTER TABLE {hidden} RENAME TO {table}"))


def measure(url: str, *, residents: int = 20_000, events: int = 1_000_000,
            responses: int = 40_000, runs: int = 3, seed: int = 1) -> dict:
    """The recompute's time with and without survey answers (medians of ``runs``
    interleaved runs each) on a fresh database at ``url``, and their ratio."""
    if url.startswith("postgresql"):
        ensure_database(url)
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url,
                                 "INSTANCE_PATH": tempfile.mkdtemp()})
    reset(app)
    with app.app_context():
        populate(residents, events, seed)
        made = add_responses(responses, seed)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        today = local_today()
        days = iter(today - timedelta(days=n) for n in range(2 * runs + 2, 0, -1))

        def scorer() -> tuple[float, float]:
            started, cpu = time.perf_counter(), time.process_time()
            recompute(next(days))
            db.session.commit()
            return time.perf_counter() - started, time.process_time() - cpu

        set_answers_aside(True)
        scorer()  # warm both
        set_answers_aside(False)
        scorer()
        without, with_ = [], []
        for _ in range(runs):
            set_answers_aside(True)
            without.append(scorer())
            set_answers_aside(False)
            with_.append(scorer())
        scores = EngagementScore.__table__
        counted = db.session.execute(select(func.count(), func.count(scores.c.satisfaction))
                                     .select_from(scores)).one()
    wall_with, wall_without = [w for w, _ in with_], [w for w, _ in without]
    median_with, median_without = statistics.median(wall_with), statistics.median(wall_without)
    result = {"database": url.split(":", 1)[0].split("+")[0], "residents": residents,
              "events": events, **made, "scores": counted[0],
              "scores_with_satisfaction": counted[1],
              "with_s": median_with, "without_s": median_without,
              "with_runs_s": wall_with, "without_runs_s": wall_without,
              "ratio": median_with / median_without,
              "ratio_of_minimums": min(wall_with) / min(wall_without), "target": 1.3}
    if url.startswith("sqlite"):  # all the work is in this process: its CPU time too
        cpu_with = statistics.median(c for _, c in with_)
        cpu_without = statistics.median(c for _, c in without)
        result.update(cpu_with_s=cpu_with, cpu_without_s=cpu_without,
                      cpu_ratio=cpu_with / cpu_without)
    return result


def report(r: dict) -> str:
    return (f"  recompute with survey answers    {r['with_s']:7.2f} s  "
            f"({r['responses']} responses, {r['answers']} answers; "
            f"{r['scores_with_satisfaction']} of {r['scores']} scores with satisfaction)\n"
            f"  recompute without survey answers {r['without_s']:7.2f} s\n"
            f"  ratio {r['ratio']:.2f}  (target ≤ {r['target']}; of the fastest runs "
            f"{r['ratio_of_minimums']:.2f})   runs with "
            f"{', '.join(f'{t:.2f}' for t in r['with_runs_s'])}; without "
            f"{', '.join(f'{t:.2f}' for t in r['without_runs_s'])}"
            + (f"\n  CPU time (SQLite works in this process): with {r['cpu_with_s']:.2f} s, "
               f"without {r['cpu_without_s']:.2f} s, ratio {r['cpu_ratio']:.2f}"
               if "cpu_ratio" in r else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--responses", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    args = parser.parse_args()
    targets = []
    if args.database in ("sqlite", "both"):
        targets.append(("SQLite", f"sqlite:///{tempfile.mkdtemp()}/bench.db"))
    if args.database in ("postgresql", "both"):
        targets.append(("PostgreSQL", args.pg_url))
    for name, url in targets:
        print(f"{name}: {args.residents} residents, {args.events} events, "
              f"{args.responses} responses; medians of {args.runs}", flush=True)
        r = measure(url, residents=args.residents, events=args.events,
                    responses=args.responses, runs=args.runs, seed=args.seed)
        print(report(r), flush=True)


if __name__ == "__main__":
    main()
