"""The demo's playbooks (``portal demo``): the starter library activated, and twelve
months of what running it would have left behind.

Cases were opened over the months (held out by ``holdout.held_out`` with the
playbook's percent: no tasks, no messages); their ``*_at_open`` figures come from a
plausible score for the trigger; message steps were sent, or suppressed for the
resident's consent, do-not-contact, a missing address or the contact budget; task
steps were done on time or late with an outcome and a touchpoint, and the recent
ones are still open (some in the demo staff's own lists); cases older than
``MEASURE_DAYS`` have their ``score_after``, and the contacted residents recover a
few points more than the held-out ones, with noise — so the effectiveness page has
an uplift to show. Life events for some residents feed the new-parent playbook.

Everything goes in by batched multi-row inserts (a few per table), never a query
per resident.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update

from portal.auth.models import User
from portal.demo.generator import DEMO_DOMAIN
from portal.extensions import db
from portal.outreach.models import (
    LetterBatch,
    MessageStatus,
    MessageTemplate,
    OutreachMessage,
    SuppressionReason,
    Touchpoint,
)
from portal.playbooks import starter
from portal.playbooks.definition import MEASURE_DAYS
from portal.playbooks.holdout import held_out
from portal.playbooks.models import (
    Case,
    CaseStatus,
    Outcome,
    Playbook,
    PlaybookStatus,
    PlaybookVersion,
)
from portal.residents.models import LifeEvent, Resident
from portal.services.models import Department, EventSource, Service
from portal.timeutil import local_zone, utcnow
from portal.work.models import Task, TaskStatus

CHUNK = 2000
#: cases per playbook, as a share of the residents (the big playbooks get enough
#: cases on both sides for an uplift with PLAYBOOK_MIN_N = 20 at 2 000 residents)
SHARE = {
    "welcome": 0.04, "senior-bus-pass": 0.06, "health-checkup-overdue": 0.2,
    "new-parent": 0.02, "library-lapsed": 0.2, "waste-app-stopped": 0.15,
    "detractor-follow-up": 0.03, "inquiry-overdue-escalation": 0.015,
}
#: who may enter: (lowest age, highest age)
AGES = {
    "senior-bus-pass": (70, 110), "health-checkup-overdue": (40, 74),
    "new-parent": (22, 45), "library-lapsed": (8, 90), "waste-app-stopped": (18, 85),
}
#: the score a resident's service had when the trigger fired: (low, high)
SCORE_AT_OPEN = {"never_used": (0, 12), "no_use": (12, 45), "life_event": (20, 60)}
#: mean recovery in points after 30 days: held out, contacted (plus noise of SD 9)
RECOVERY = (2.0, 8.0)
STAFF_OUTCOMES = [(Outcome.REACHED, 0.5), (Outcome.RESOLVED, 0.2), (Outcome.UNREACHABLE, 0.15),
                  (Outcome.DECLINED, 0.08), (Outcome.REFERRED, 0.07)]


def _weighted(rng: random.Random, options):
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights=weights)[0]


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start:start + CHUNK]


def _band(score: float | None) -> str | None:
    if score is None:
        return None
    return "red" if score < 40 else "yellow" if score < 70 else "green"


def _text(template: MessageTemplate, locale: str, resident: Any, service: Service | None,
          department: Department, day: date) -> tuple[str, str]:
    """The template's subject and body for the resident (the demo's own small fill-in;
    real messages go through ``portal.outreach.placeholders``)."""
    ja = locale == "ja"
    name = (f"{resident.family_name} {resident.given_name} 様" if ja
            else resident.name_latin or f"{resident.given_name} {resident.family_name}")
    values = {
        "name": name,
        "service": (service.name_ja if ja else service.name_en) if service else "",
        "city": current_app.config["MUNICIPALITY_NAME_JA" if ja else "MUNICIPALITY_NAME"],
        "link": f"https://portal.example/services/{service.slug}" if service else "",
        "date": day.isoformat(),
        "department": department.name_ja if ja else department.name_en,
    }
    lang = "ja" if ja else "en"
    out = []
    for text in (getattr(template, f"subject_{lang}"), getattr(template, f"body_{lang}")):
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        out.append(text)
    return out[0], out[1]


def _printed(day: date) -> datetime:
    """When the demo's staff printed the letters of ``day``: the next morning."""
    return datetime.combine(day, datetime.min.time(), tzinfo=local_zone()) + timedelta(
        days=1, hours=10)


def activate(playbooks: list[Playbook], now: datetime) -> None:
    """Paused → active, as a new version (what the console's status change stores)."""
    for playbook in playbooks:
        if playbook.status == PlaybookStatus.ACTIVE:
            continue
        playbook.status = PlaybookStatus.ACTIVE
        playbook.version += 1
        db.session.add(PlaybookVersion(playbook_id=playbook.id, version=playbook.version,
                                       snapshot=playbook.snapshot(),
                                       summary="status: paused → active (demo)",
                                       created_at=now))
    db.session.flush()


def _give_each_demo_worker_open_work(tasks: list[dict[str, Any]], staff: dict) -> None:
    """Each demo staff member signs in to something in My work: when chance left them no
    open task of their own, their department's newest open task for anyone is theirs.
    (Which cases are held out follows the database's ids, so chance differs between
    databases.)"""
    for department_id, worker in staff.items():
        own = [t for t in tasks if t["department_id"] == department_id
               and t["status"] == TaskStatus.OPEN]
        if not own or any(t["assignee_id"] == worker.id for t in own):
            continue
        unclaimed = [t for t in own if t["assignee_id"] is None and t["assignee_role"] is None]
        if unclaimed:
            max(unclaimed, key=lambda t: t["created_at"])["assignee_id"] = worker.id


def fill_demo(*, seed: int, months: int = 12) -> dict[str, int]:
    """Activate the starter playbooks and fill their history. Returns the counts."""
    rng = random.Random(seed * 104729 + 11)
    starter.seed_starter_playbooks()
    now = utcnow().replace(second=0, microsecond=0)
    today = now.astimezone(local_zone()).date()
    playbooks = db.session.scalars(select(Playbook).where(
        Playbook.key.in_(list(starter.PLAYBOOKS))).order_by(Playbook.id)).all()
    if not playbooks:
        return {"cases": 0, "tasks": 0, "messages": 0, "life_events": 0}
    # the history begins when the playbooks were activated, a year ago
    start = now - timedelta(days=round(min(months, 12) * 30.44))
    activate(playbooks, start)
    templates = {t.id: t for t in db.session.scalars(select(MessageTemplate))}
    services = {s.id: s for s in db.session.scalars(select(Service))}
    departments = {d.id: d for d in db.session.scalars(select(Department))}
    staff = {u.department_id: u for u in db.session.scalars(select(User).where(
        User.email.like(f"staff.%@{DEMO_DOMAIN}")))}
    residents = db.session.execute(select(
        Resident.id, Resident.birth_year, Resident.family_name, Resident.given_name,
        Resident.name_latin, Resident.email, Resident.postal_code, Resident.address,
        Resident.consent_outreach, Resident.do_not_contact, Resident.preferred_channels,
        Resident.preferred_locale).where(Resident.anonymised_at.is_(None))
        .order_by(Resident.id)).all()
    if not residents:
        return {"cases": 0, "tasks": 0, "messages": 0, "life_events": 0}
    year = today.year

    life_rows: list[dict[str, Any]] = []
    births: dict[int, date] = {}
    span = (now - start).days
    for resident in residents:
        age = year - (resident.birth_year or year - 40)
        if 24 <= age <= 42 and rng.random() < 0.05:
            day = today - timedelta(days=rng.randint(0, span))
            births[resident.id] = day
            life_rows.append({"resident_id": resident.id, "kind": "child_born",
                              "occurred_on": day})
        if rng.random() < 0.03:
            life_rows.append({"resident_id": resident.id, "kind": "moved_in",
                              "occurred_on": today - timedelta(days=rng.randint(0, span))})
        if age == 65 and rng.random() < 0.8:
            life_rows.append({"resident_id": resident.id, "kind": "turned_65",
                              "occurred_on": date(year, rng.randint(1, today.month),
                                                  rng.randint(1, 28))})
    for row in life_rows:
        row.update(source=EventSource.DEMO.value, note=None, created_at=now)
    for chunk in _chunks(life_rows):
        db.session.execute(insert(LifeEvent), list(chunk))
    # the new-parent cases point at their birth (``trigger_ref``)
    birth_ids = dict(db.session.execute(select(LifeEvent.resident_id, LifeEvent.id).where(
        LifeEvent.kind == "child_born", LifeEvent.source == EventSource.DEMO.value)).all())

    case_rows: list[dict[str, Any]] = []
    plans: list[tuple[Playbook, Any, bool, datetime]] = []
    # a second demo run adds history for the residents it added, never a second case
    # beside one an earlier run (or the evaluation) made
    had_case = {(row[0], row[1]) for row in db.session.execute(
        select(Case.playbook_id, Case.resident_id))}
    for playbook in playbooks:
        low, high = AGES.get(playbook.key, (18, 110))
        if playbook.key == "new-parent":
            pool = [r for r in residents if r.id in births]
        else:
            pool = [r for r in residents
                    if low <= year - (r.birth_year or year - 40) <= high]
        pool = [r for r in pool if (playbook.id, r.id) not in had_case]
        wanted = min(len(pool), max(1, round(len(residents) * SHARE.get(playbook.key, 0.02))))
        for resident in rng.sample(pool, wanted):
            if playbook.key == "new-parent":
                opened = datetime.combine(births[resident.id], datetime.min.time(),
                                          tzinfo=now.tzinfo) + timedelta(days=rng.randint(1, 20))
                opened = min(opened, now - timedelta(hours=1))
            else:
                # more cases lately (the playbooks found their rhythm), none in the future
                opened = now - timedelta(days=span * rng.random() ** 1.3,
                                         hours=rng.uniform(0, 8))
            opened = max(opened, start)
            hold = held_out(playbook.id, resident.id, playbook.holdout_percent)
            score = None
            if playbook.service_id is not None:
                low_s, high_s = SCORE_AT_OPEN.get(playbook.trigger, (15, 55))
                score = round(rng.uniform(low_s, high_s), 1)
            interval = (services[playbook.service_id].expected_interval_days
                        if playbook.service_id else None)
            value = None
            if playbook.trigger == "no_use" and interval:
                value = float(int(interval * playbook.trigger_params.get("intervals", 1)
                                  + rng.randint(1, max(2, interval))))
            elif playbook.trigger == "life_event":
                value = float((opened.date() - births[resident.id]).days)
            elif playbook.trigger == "inquiry_overdue":
                value = float(rng.randint(1, 9))
            case_rows.append({
                "playbook_id": playbook.id, "playbook_version": playbook.version,
                "resident_id": resident.id, "service_id": playbook.service_id,
                "service_key": playbook.service_id or 0, "held_out": hold,
                "opened_at": opened, "score_at_open": score, "band_at_open": _band(score),
                "recency_at_open": round(rng.uniform(0, 40), 1) if score is not None else None,
                "frequency_at_open": round(rng.uniform(10, 60), 1) if score is not None
                else None,
                "trigger_value": value,
                "trigger_ref": birth_ids.get(resident.id)
                if playbook.trigger == "life_event" else None,
                "status": CaseStatus.OPEN, "outcome": None,
                "outcome_note": "", "closed_at": None, "next_step": 0, "next_step_at": None,
                "score_after": None, "measured_at": None,
            })
            plans.append((playbook, resident, hold, opened))

    tasks: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    touchpoints: list[dict[str, Any]] = []
    budget_used: dict[int, list[datetime]] = {}
    letter_days: set[date] = set()
    task_case: list[int] = []  # the index into case_rows of each task
    touch_case: list[int] = []
    message_case: list[int] = []
    for index, ((playbook, resident, hold, opened), row) in enumerate(
            zip(plans, case_rows, strict=True)):
        age_days = (now - opened).total_seconds() / 86400
        steps = playbook.steps
        department = departments[playbook.department_id]
        service = services.get(playbook.service_id) if playbook.service_id else None
        outcome = None
        last_done = opened
        next_step = len(steps)
        has_open_task = False
        stopped_at = None
        if not hold:
            for n, step in enumerate(steps):
                at = opened + timedelta(days=step["offset_days"])
                if at > now:
                    next_step = n
                    row["next_step_at"] = at
                    break
                if step["kind"] == "message":
                    template = templates[step["template_id"]]
                    reason = channel = None
                    if not resident.consent_outreach:
                        reason = SuppressionReason.NO_CONSENT
                    elif resident.do_not_contact:
                        reason = SuppressionReason.DO_NOT_CONTACT
                    else:
                        channels = resident.preferred_channels or []
                        if resident.email and ("email" in channels or not channels
                                               or not resident.address):
                            channel = "email"
                        elif resident.postal_code and resident.address:
                            channel = "letter"
                        else:
                            reason = SuppressionReason.NO_ADDRESS
                        recent = [t for t in budget_used.get(resident.id, [])
                                  if at - timedelta(days=30) < t <= at]
                        if reason is None and len(recent) >= 2:
                            reason, channel = SuppressionReason.BUDGET, None
                    locale = "en" if resident.preferred_locale == "en" else "ja"
                    subject, body = _text(template, locale, resident, service, department,
                                          at.astimezone(local_zone()).date())
                    sent = reason is None
                    if sent:
                        budget_used.setdefault(resident.id, []).append(at)
                    day = at.astimezone(local_zone()).date()
                    # a letter counts as sent when its day's batch was printed
                    sent_at = at + timedelta(hours=1) if channel == "email" else _printed(day)
                    status = (MessageStatus.SUPPRESSED if not sent else
                              MessageStatus.SENT if sent_at < now else MessageStatus.QUEUED)
                    if channel == "letter":
                        letter_days.add(day)
                    messages.append({
                        "resident_id": resident.id, "step": n, "kind": "message",
                        "template_id": template.id, "department_id": department.id,
                        "channel": channel, "status": status,
                        "reason": reason.value if reason else None, "locale": locale,
                        "fell_back": False, "subject": subject,
                        "body": body if channel == "letter" else "",
                        "created_at": at,
                        "sent_at": sent_at if status == MessageStatus.SENT else None,
                        "_letter_day": day if channel == "letter" else None,
                    })
                    message_case.append(index)
                elif step["kind"] == "task":
                    due = (at + timedelta(days=step["due_days"])).astimezone(local_zone()).date()
                    assignee = None
                    role = step.get("role") if step.get("assignee") == "role" else None
                    worker = staff.get(department.id)
                    done_after = rng.expovariate(1 / max(1.0, step["due_days"] * 0.8))
                    done_at = at + timedelta(days=done_after, hours=rng.uniform(1, 6))
                    task = {
                        "step": n, "resident_id": resident.id, "department_id": department.id,
                        "assignee_id": None, "assignee_role": role,
                        "title_ja": step["title_ja"], "title_en": step["title_en"],
                        "due_on": due, "status": TaskStatus.OPEN, "outcome": None, "note": "",
                        "completed_at": None, "completed_by_id": None, "created_at": at,
                        "updated_at": at,
                    }
                    if worker is not None and role is None and rng.random() < 0.6:
                        task["assignee_id"] = assignee = worker.id
                    # most tasks get done (a few are forgotten: overdue); the recent ones
                    # are often still waiting in somebody's list
                    recent = (now - at).days < 21
                    if (done_at < now - timedelta(hours=1)
                            and rng.random() < (0.5 if recent else 0.97)):
                        outcome = _weighted(rng, STAFF_OUTCOMES)
                        by = assignee or (worker.id if worker else None)
                        task.update(status=TaskStatus.DONE, outcome=outcome.value,
                                    completed_at=done_at, completed_by_id=by,
                                    updated_at=done_at)
                        touchpoints.append({
                            "resident_id": resident.id, "service_id": playbook.service_id,
                            "department_id": department.id, "channel": "phone",
                            "action": "task_done", "outcome": outcome.value, "note": "",
                            "by_id": by, "at": done_at, "_task": len(tasks)})
                        touch_case.append(index)
                        last_done = max(last_done, done_at)
                    else:
                        has_open_task = True
                    tasks.append(task)
                    task_case.append(index)
                elif step["kind"] == "wait" and playbook.auto_close and rng.random() < 0.35:
                    # the resident came back before the wait was over: the case closed
                    # itself ("recovered") and the later steps never ran
                    stopped_at = opened + timedelta(days=rng.uniform(3, step["offset_days"]))
                    next_step = len(steps)
                    break
        row["next_step"] = next_step
        measured = age_days >= MEASURE_DAYS
        if row["score_at_open"] is not None and measured:
            mean = RECOVERY[0] if hold else RECOVERY[1]
            after = row["score_at_open"] + rng.gauss(mean, 9)
            row["score_after"] = round(min(100.0, max(0.0, after)), 1)
            row["measured_at"] = opened + timedelta(days=MEASURE_DAYS)
        # the case's end: what staff recorded, the trigger clearing, or the window passing
        if has_open_task or row["next_step_at"] is not None:
            continue
        recovered = (playbook.auto_close and row["score_after"] is not None
                     and row["score_after"] >= 40)
        if stopped_at is not None:
            row.update(outcome=Outcome.RECOVERED.value, closed_at=stopped_at)
        elif outcome is not None and not hold:
            row.update(outcome=outcome.value, closed_at=last_done + timedelta(minutes=5))
        elif recovered:
            row.update(outcome=Outcome.RECOVERED.value,
                       closed_at=opened + timedelta(days=rng.uniform(5, MEASURE_DAYS)))
        elif age_days >= MEASURE_DAYS + 5:
            row.update(outcome=Outcome.EXPIRED.value,
                       closed_at=opened + timedelta(days=MEASURE_DAYS + 1))
        if row["closed_at"] is not None:
            row["closed_at"] = min(row["closed_at"], now)
            row["status"] = CaseStatus.CLOSED
            row["next_step_at"] = None

    # one open case per (playbook, resident, service): a resident entered each
    # playbook once here, so the index holds
    case_ids: list[int] = []
    for chunk in _chunks(case_rows):
        case_ids += db.session.scalars(
            insert(Case).returning(Case.id, sort_by_parameter_order=True), list(chunk)).all()

    # an earlier run's days keep their batch (one per day)
    batches: dict[date, int] = {row[0]: row[1] for row in db.session.execute(
        select(LetterBatch.day, LetterBatch.id).where(LetterBatch.day.in_(letter_days)))}
    batch_rows = []
    for day in sorted(letter_days - set(batches)):
        printed = _printed(day)
        batch_rows.append({"day": day, "printed_at": printed if printed < now else None,
                           "printed_by_id": None, "created_at": printed - timedelta(days=1)})
    if batch_rows:
        ids = db.session.scalars(insert(LetterBatch).returning(
            LetterBatch.id, sort_by_parameter_order=True), batch_rows).all()
        batches.update((row["day"], batch_id)
                       for row, batch_id in zip(batch_rows, ids, strict=True))
    for message, index in zip(messages, message_case, strict=True):
        message["case_id"] = case_ids[index]
        day = message.pop("_letter_day")
        message["letter_batch_id"] = batches.get(day) if day else None
        message["survey_invitation_id"] = message["outbox_id"] = None
    for chunk in _chunks(messages):
        db.session.execute(insert(OutreachMessage), list(chunk))
    _give_each_demo_worker_open_work(tasks, staff)
    for task, index in zip(tasks, task_case, strict=True):
        task["case_id"] = case_ids[index]
        task["subject_type"] = task["subject_id"] = task["snoozed_until"] = None
    task_ids: list[int] = []
    for chunk in _chunks(tasks):
        task_ids += db.session.scalars(
            insert(Task).returning(Task.id, sort_by_parameter_order=True), list(chunk)).all()
    for touch, index in zip(touchpoints, touch_case, strict=True):
        touch["case_id"] = case_ids[index]
        touch["task_id"] = task_ids[touch.pop("_task")]
        touch["data"] = None
    for chunk in _chunks(touchpoints):
        db.session.execute(insert(Touchpoint), list(chunk))
    db.session.execute(update(Playbook).where(Playbook.id.in_([p.id for p in playbooks]))
                       .values(evaluated_at=now))
    db.session.flush()
    return {"cases": len(case_rows), "tasks": len(tasks), "messages": len(messages),
            "life_events": len(life_rows)}
