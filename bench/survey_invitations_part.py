"""Benchmark part: creating 50 000 survey invitations with their outbox rows.

``measure(app, residents=50_000)`` works on a database that already holds
``residents`` reachable residents (outreach consent, an e-mail address, not
do-not-contact) and an open survey. In the same run, interleaved, three times
each, it times:

- **job**: ``portal.surveys.invitations.send_invitations`` — the function the job
  runs — for the segment "all residents": the look-up, a random salt and derived
  token per invitation, its SHA-256, the e-mail rendered once per language and
  filled in per row, batched inserts of the invitations and the outbox rows, and
  the commit;
- **raw**: the floor, one ``INSERT … SELECT`` of the same invitation rows (a
  random 64-character hash computed by the database) and one of the same outbox
  rows (the same rendered subject and body, the name and a random token spliced in
  by the database), and the commit.

Between rounds the rows are deleted (not timed). The result holds the medians and
``ratio`` = job / raw (target ≤ 3). ``bench/surveys_bench.py`` calls ``measure``;
``__main__`` builds its own database:

    python bench/survey_invitations_part.py                   # SQLite temp file
    python bench/survey_invitations_part.py --database postgresql
    python bench/survey_invitations_part.py --residents 20000

PostgreSQL: ``PORTAL_BENCH_INVITE_DATABASE_URL`` (default the wt_invite database);
its schema is dropped and rebuilt.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, func, insert, select, text

from portal.extensions import db
from portal.mail.models import OutboundMessage
from portal.surveys import invitations
from portal.surveys.models import Invitation, Survey, SurveyStatus
from portal.timeutil import utcnow

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench"
ROUNDS = 3


def _clean(survey_id: int) -> None:
    db.session.execute(delete(Invitation).where(Invitation.survey_id == survey_id))
    db.session.execute(delete(OutboundMessage).where(
        OutboundMessage.purpose.in_((invitations.PURPOSE, "bench_raw"))))
    db.session.commit()


def _job(survey: Survey) -> int:
    result = invitations.send_invitations(survey, invitations.Criteria(everyone=True),
                                          actor=None)
    db.session.commit()
    return result.invited


def _raw(survey: Survey) -> int:
    """The same rows by INSERT … SELECT: the least any way of creating them does."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        random_hash = "md5(random()::text || r.id::text) || md5(random()::text)"
        salt = "substr(md5(random()::text), 1, 22)"
    else:
        random_hash = "lower(hex(randomblob(32)))"
        salt = "lower(hex(randomblob(11)))"
    now = utcnow()
    expires = now.replace(year=now.year + 1)
    reachable = ("r.consent_outreach = :yes AND r.do_not_contact = :no AND r.email IS NOT NULL "
                 "AND r.email <> '' AND r.anonymised_at IS NULL")
    params = {"survey": survey.id, "now": now, "expires": expires, "yes": True, "no": False}
    n = db.session.execute(text(
        "INSERT INTO survey_invitations (survey_id, resident_id, token_hash, token_salt, "
        "channel, expires_at, created_at, sent_at) "
        f"SELECT :survey, r.id, {random_hash}, {salt}, 'email', :expires, :now, :now "
        f"FROM residents r WHERE {reachable} AND NOT EXISTS (SELECT 1 FROM "
        "survey_invitations i WHERE i.survey_id = :survey AND i.resident_id = r.id)"),
        params).rowcount
    # the same e-mail as the job writes (the Japanese one, the name and a token spliced
    # in by the database), so that both write rows of the same size
    _locale, subject, head, middle, tail, g_head, g_tail = invitations._Renderer(
        survey, reminder=False)._parts("ja", expires)
    token = "substr(" + random_hash + ", 1, 43)"
    db.session.execute(text(
        "INSERT INTO outbound_messages (channel, to_address, subject, body_text, locale, "
        "purpose, user_id, status, attempts, next_attempt_at, created_at) "
        "SELECT 'email', r.email, :subject, :head || r.family_name || ' ' || r.given_name "
        f"|| :g_tail || :middle || {token} || :tail, r.preferred_locale, "
        f"'bench_raw', r.user_id, 'queued', 0, :now, :now FROM residents r WHERE {reachable}"),
        {**params, "subject": subject, "head": head + g_head, "g_tail": g_tail,
         "middle": middle, "tail": tail})
    db.session.commit()
    return n


def measure(app, residents: int = 50_000) -> dict:
    """Medians of job and raw (seconds) over three interleaved rounds, and the ratio."""
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.status == SurveyStatus.OPEN)
                                   .order_by(Survey.id.desc()).limit(1))
        if survey is None:
            raise SystemExit("measure() needs an open survey in the database")
        times: dict[str, list[float]] = {"job": [], "raw": []}
        counts: dict[str, int] = {}
        for _round in range(ROUNDS):
            for name, run in (("job", _job), ("raw", _raw)):
                _clean(survey.id)
                survey = db.session.get(Survey, survey.id)
                start = time.perf_counter()
                counts[name] = run(survey)
                times[name].append(time.perf_counter() - start)
        messages = db.session.scalar(select(func.count()).select_from(OutboundMessage)
                                     .where(OutboundMessage.purpose == "bench_raw"))
        _clean(survey.id)
    job, raw = statistics.median(times["job"]), statistics.median(times["raw"])
    return {"residents": residents, "invitations_job": counts["job"],
            "invitations_raw": counts["raw"], "outbox_rows_raw": messages,
            "job_s": round(job, 3), "raw_s": round(raw, 3), "ratio": round(job / raw, 2),
            "job_runs": [round(t, 3) for t in times["job"]],
            "raw_runs": [round(t, 3) for t in times["raw"]]}


# -- a database of its own ----------------------------------------------------------------

def build(url: str, residents: int, instance: str):
    from flask_migrate import upgrade

    from portal.app import create_app
    from portal.residents.models import Resident
    from portal.services.catalogue import load_catalogue
    from portal.services.models import Department

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            from tests.conftest import reset_schema

            reset_schema()
        upgrade()
        load_catalogue()
        department = db.session.scalar(select(Department).limit(1))
        rows = [{"external_id": f"R-{n:07d}", "family_name": "佐藤", "given_name": f"花子{n}",
                 "name_latin": f"Hanako Sato {n}", "email": f"r{n}@example.org",
                 "preferred_locale": "en" if n % 5 == 0 else "ja", "district": "中央",
                 "birth_year": 1940 + n % 70, "consent_outreach": True,
                 "consent_profiling": True, "do_not_contact": False,
                 "preferred_channels": ["email"], "self_supplied": []}
                for n in range(residents)]
        for start in range(0, residents, 5000):
            db.session.execute(insert(Resident), rows[start:start + 5000])
        db.session.add(Survey(department_id=department.id, title_ja="住民アンケート",
                              title_en="Resident survey", status=SurveyStatus.OPEN,
                              invitation_valid_days=30, reminder_after_days=7))
        db.session.commit()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--residents", type=int, default=50_000)
    args = parser.parse_args()
    import os

    with tempfile.TemporaryDirectory() as folder:
        if args.database == "postgresql":
            url = os.environ.get("PORTAL_BENCH_INVITE_DATABASE_URL", PG_DEFAULT)
        else:
            url = f"sqlite:///{folder}/bench.db"
        app = build(url, args.residents, folder)
        result = measure(app, args.residents)
    print(f"{args.database}: {result['invitations_job']:,} invitations + outbox rows")
    print(f"  job (send_invitations): median {result['job_s']:.3f} s  {result['job_runs']}")
    print(f"  raw INSERT … SELECT:    median {result['raw_s']:.3f} s  {result['raw_runs']}")
    print(f"  ratio {result['ratio']:.2f} (target ≤ 3)")


if __name__ == "__main__":
    main()
