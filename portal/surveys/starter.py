"""The starter surveys ``portal seed`` adds as drafts, and the responses
``portal demo`` fills them with.

The surveys are JSON definitions in ``starter/`` (the documented format,
``docs/surveys.md``), created once each (``Survey.seed_key``). The demo opens them
and answers them the way the demo's residents use the services: a post-visit CSAT
a few days after a visit to the resident-certificate counter, a CES after a My
Number Card application, and the annual (anonymous) resident NPS in the last two
months. Residents who use a service often answer more kindly than those who came
once — enough for the dashboards, the detractor list and the satisfaction measure
to show something real. Everything is inserted in batches.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from portal.extensions import db
from portal.residents.models import Resident
from portal.services.models import UsageEvent
from portal.surveys.answering import age_band
from portal.surveys.models import (
    Answer,
    Invitation,
    Question,
    Response,
    ResponseChannel,
    Survey,
    SurveyStatus,
)
from portal.timeutil import local_zone, utcnow

STARTER_DIR = Path(__file__).parent / "starter"
STARTERS = ("counter-visit-csat", "resident-nps", "online-application-ces",
            "inquiry-followup-csat")
#: the starters the demo opens and answers (the inquiry follow-up is a template the
#: closed loop copies per service: ``portal.inquiries.loop``)
DEMO_FILLED = ("counter-visit-csat", "resident-nps", "online-application-ces")


def definition(key: str) -> dict[str, Any]:
    return json.loads((STARTER_DIR / f"{key}.json").read_text(encoding="utf-8"))


def seed_starter_surveys() -> int:
    """Create the starter surveys that do not exist yet, as drafts. Returns how many."""
    from portal.surveys.definition import create_from_definition

    existing = set(db.session.scalars(select(Survey.seed_key)
                                      .where(Survey.seed_key.in_(STARTERS))))
    made = 0
    for key in STARTERS:
        if key not in existing:
            create_from_definition(definition(key), actor=None, seed_key=key)
            made += 1
    db.session.flush()
    return made


def _scale_answer(rng: random.Random, kind: str, mood: float) -> int:
    """An answer on the question's scale from a mood in 0..1 with some noise."""
    low, high = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}[kind]
    value = low + (high - low) * min(1.0, max(0.0, rng.gauss(mood, 0.22)))
    return round(value)


def _detractor(kind: str, value: int) -> bool:
    return value <= 6 if kind == "nps" else value <= 2


def fill_demo(*, seed: int, months: int) -> dict[str, int]:
    """Open the starter surveys and give them invitations, responses and answers
    consistent with the demo's usage. Returns counts."""
    rng = random.Random(seed * 7919)
    seed_starter_surveys()
    surveys = {s.seed_key: s for s in db.session.scalars(
        select(Survey).where(Survey.seed_key.in_(DEMO_FILLED)))}
    now = utcnow().replace(microsecond=0)
    start = now - timedelta(days=round(months * 30.44))
    made = {"invitations": 0, "responses": 0, "answers": 0}
    for key, survey in surveys.items():
        if db.session.scalar(select(func.count()).select_from(Response)
                             .where(Response.survey_id == survey.id)):
            continue  # filled already
        survey.status = SurveyStatus.OPEN
        survey.opened_at = start if key != "resident-nps" else now - timedelta(days=60)
        questions = {q.key: q for q in survey.questions}
        if key == "resident-nps":
            plan = _annual_plan(rng, now)
        else:
            plan = _after_use_plan(rng, survey, now, start)
        demo_resident = _demo_resident_id()
        plan = [p for p in plan if p[0] != demo_resident]
        counts = _write(rng, survey, questions, plan, now)
        if demo_resident is not None:  # something waiting on the demo resident's My page
            db.session.execute(insert(Invitation), [{
                "survey_id": survey.id, "resident_id": demo_resident,
                "channel": ResponseChannel.WEB, "created_at": now}])
            counts["invitations"] += 1
        for name, n in counts.items():
            made[name] += n
    db.session.flush()
    return made


def _demo_resident_id() -> int | None:
    """The register record of the demo's resident login, if the demo made one."""
    from portal.auth.models import User
    from portal.demo.generator import DEMO_DOMAIN

    return db.session.scalar(select(Resident.id).join(User, Resident.user_id == User.id)
                             .where(User.email == f"resident@{DEMO_DOMAIN}"))


def _after_use_plan(rng, survey: Survey, now: datetime, start: datetime) -> list[tuple]:
    """(resident, invited at, answered at or None, mood) after a use of the survey's
    service: one invitation per resident, after their latest use."""
    e = UsageEvent.__table__
    rows = db.session.execute(
        select(e.c.resident_id, func.max(e.c.occurred_at), func.count())
        .join(Resident, Resident.id == e.c.resident_id)
        .where(e.c.service_id == survey.service_id, e.c.occurred_at >= start,
               Resident.consent_outreach.is_(True), Resident.do_not_contact.is_(False),
               Resident.email.is_not(None), Resident.anonymised_at.is_(None))
        .group_by(e.c.resident_id).order_by(e.c.resident_id)).all()
    plan = []
    for resident_id, last_use, uses in rows:
        last_use = last_use if last_use.tzinfo else last_use.replace(tzinfo=UTC)
        invited = last_use + timedelta(hours=rng.randint(2, 30))
        if invited > now:
            continue
        answered = None
        if rng.random() < 0.42:
            answered = invited + timedelta(hours=rng.randint(1, 96))
            answered = min(answered, now - timedelta(minutes=5))
        mood = min(0.95, 0.45 + 0.12 * uses + rng.uniform(-0.15, 0.15))
        plan.append((resident_id, invited, answered, mood))
    return plan


def _annual_plan(rng, now: datetime) -> list[tuple]:
    """The annual survey: a sample of adults who may be contacted by e-mail."""
    ids = db.session.scalars(
        select(Resident.id).where(Resident.consent_outreach.is_(True),
                                  Resident.do_not_contact.is_(False),
                                  Resident.email.is_not(None),
                                  Resident.anonymised_at.is_(None))
        .order_by(Resident.id)).all()
    chosen = [i for i in ids if rng.random() < 0.5]
    invited = now - timedelta(days=60)
    plan = []
    for resident_id in chosen:
        answered = None
        if rng.random() < 0.33:
            answered = invited + timedelta(hours=rng.randint(1, 55 * 24))
        plan.append((resident_id, invited, answered, rng.betavariate(5, 2.2)))
    return plan


def _write(rng, survey: Survey, questions: dict[str, Question], plan, now) -> dict[str, int]:
    residents = {r.id: r for r in db.session.execute(
        select(Resident.id, Resident.district, Resident.birth_year, Resident.preferred_locale)
        .where(Resident.id.in_([p[0] for p in plan]))).all()} if plan else {}
    valid = timedelta(days=survey.invitation_valid_days)
    invitations, responses, answer_plan = [], [], []
    for resident_id, invited, answered, mood in plan:
        salt = f"demo-{survey.id}-{resident_id}-{rng.random()}"
        invitations.append({
            "survey_id": survey.id, "resident_id": resident_id,
            "token_hash": hashlib.sha256(salt.encode()).hexdigest(),
            "channel": ResponseChannel.EMAIL, "created_at": invited, "sent_at": invited,
            "expires_at": invited + valid,
            "started_at": answered, "completed_at": answered})
        if answered is None:
            continue
        resident = residents[resident_id]
        values = _answers(rng, survey, questions, mood)
        local_date = answered.astimezone(local_zone()).date()
        responses.append({
            "survey_id": survey.id,
            "resident_id": None if survey.anonymous else resident_id,
            "channel": ResponseChannel.EMAIL,
            "submission_key": hashlib.sha256(f"{salt}-response".encode()).hexdigest(),
            "submitted_at": (datetime.combine(local_date, datetime.min.time(), tzinfo=UTC)
                             if survey.anonymous else answered),
            "district": resident.district,
            "age_band": age_band(resident.birth_year, local_date.year),
            "locale": resident.preferred_locale,
            "detractor": any(_detractor(questions[k].type, v) for k, v in values.items()
                             if questions[k].type in ("csat", "nps", "ces")),
        })
        answer_plan.append(values)
    if survey.anonymous:  # no order that could be matched with the invitations'
        pairs = list(zip(responses, answer_plan, strict=True))
        rng.shuffle(pairs)
        responses, answer_plan = [p[0] for p in pairs], [p[1] for p in pairs]
    for offset in range(0, len(invitations), 2000):
        db.session.execute(insert(Invitation), invitations[offset:offset + 2000])
    response_ids = []
    for offset in range(0, len(responses), 2000):
        response_ids += db.session.scalars(
            insert(Response).returning(Response.id, sort_by_parameter_order=True),
            responses[offset:offset + 2000]).all()
    answer_rows = []
    for response_id, values in zip(response_ids, answer_plan, strict=True):
        for key, value in values.items():
            question = questions[key]
            if isinstance(value, list):
                answer_rows += [{"response_id": response_id, "question_id": question.id,
                                 "number": None, "choice": v, "text": None} for v in value]
            elif isinstance(value, str) and question.type in ("single",):
                answer_rows.append({"response_id": response_id, "question_id": question.id,
                                    "number": None, "choice": value, "text": None})
            elif isinstance(value, str):
                answer_rows.append({"response_id": response_id, "question_id": question.id,
                                    "number": None, "choice": None, "text": value})
            else:
                answer_rows.append({"response_id": response_id, "question_id": question.id,
                                    "number": value, "choice": None, "text": None})
    for offset in range(0, len(answer_rows), 5000):
        db.session.execute(insert(Answer), answer_rows[offset:offset + 5000])
    return {"invitations": len(invitations), "responses": len(responses),
            "answers": len(answer_rows)}


COMMENTS = {
    "improve": ["待ち時間をもっと短くしてほしい。", "番号札の呼び出しが聞き取りにくかった。",
                "必要な書類を事前に知りたかった。", "The forms were only in Japanese.",
                "土曜日にも開いていると助かります。"],
    "reason": ["子育てがしやすい。", "バスの本数が少ない。", "図書館が充実している。",
               "ごみ出しのルールが分かりにくい。", "Friendly neighbours and quiet streets.",
               "災害時の情報がもっと欲しい。"],
    "hard_part": ["写真のアップロード", "暗証番号の入力", "本人確認の手順",
                  "Uploading the photo"],
}


def _answers(rng, survey: Survey, questions: dict[str, Question], mood: float) -> dict:
    """Answers for one response, following the survey's show-if logic."""
    from portal.surveys import logic

    values: dict[str, Any] = {}
    ordered = sorted(questions.values(), key=lambda q: q.position)
    for question in ordered:
        if question not in logic.visible(ordered, values):
            continue
        kind = question.type
        if kind in ("csat", "nps", "ces"):
            values[question.key] = _scale_answer(rng, kind, mood)
        elif kind == "yes_no":
            values[question.key] = 1 if rng.random() < 0.4 + 0.5 * mood else 0
        elif kind == "single":
            options = [o["value"] for o in question.options or []]
            values[question.key] = options[min(len(options) - 1,
                                               int((1 - mood) * len(options) * rng.random()
                                                   * 1.6))]
        elif kind == "multiple":
            options = [o["value"] for o in question.options or []]
            values[question.key] = rng.sample(options, k=rng.randint(1, 3))
        elif kind in ("short_text", "long_text") and rng.random() < 0.45:
            values[question.key] = rng.choice(COMMENTS.get(question.key, ["特になし。"]))
    return values
