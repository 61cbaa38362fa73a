"""Reference data for inquiries (``portal seed``) and the demo's inquiries
(``portal demo``).

``portal seed`` adds the starter reply templates (for every department, in Japanese
and English, with the ``{name}`` and ``{number}`` placeholders of
``portal.inquiries.replies``) and the Open311 attributes of the public-space
service (the catalogue marks it ``public_space``); both by a stable key, so a second
run adds nothing and staff edits are kept.

``portal demo`` adds inquiries to the demo residents: a spread over the services
they use, every channel (Open311 for public-space services), category and status,
some overdue, some answered (a staff reply) and some with an internal note, some
resolved within their target and some after it, some reopened, and a merged
duplicate or two — bulk inserts with due times from the SLA calendar, as the
operations would store them (a few thousand rows: no ORM object per row).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, text, update

from portal.auth.models import Role, User
from portal.extensions import db
from portal.inquiries import sla
from portal.inquiries.models import (
    Inquiry,
    InquiryCategory,
    InquiryChannel,
    InquiryMessage,
    ReplyTemplate,
    ServiceAttribute,
)
from portal.residents.models import Resident
from portal.services.models import Service, UsageEvent
from portal.timeutil import utcnow

#: the starter reply templates, matched by their English name (staff may edit them)
REPLY_TEMPLATES = (
    {"name_ja": "お問い合わせを受け付けました", "name_en": "We received your inquiry",
     "body_ja": "{name} 様\n\nお問い合わせ（受付番号 {number}）を受け付けました。"
                "担当者が内容を確認し、あらためてご連絡いたします。",
     "body_en": "Dear {name},\n\nWe have received your inquiry (No. {number}). The staff in "
                "charge will look into it and get back to you."},
    {"name_ja": "対応が完了しました", "name_en": "Resolved — please tell us if anything remains",
     "body_ja": "{name} 様\n\nお問い合わせ（受付番号 {number}）への対応が完了しました。"
                "まだ解決していない点がございましたら、このお問い合わせに返信してお知らせください。",
     "body_en": "Dear {name},\n\nYour inquiry (No. {number}) has been resolved. If anything "
                "remains, please reply to this inquiry and let us know."},
    {"name_ja": "追加の情報をお願いします", "name_en": "We need a little more information",
     "body_ja": "{name} 様\n\nお問い合わせ（受付番号 {number}）について、対応のために"
                "もう少し詳しい情報が必要です。この画面からご返信ください。",
     "body_en": "Dear {name},\n\nTo deal with your inquiry (No. {number}) we need a little "
                "more information. Please reply from this page."},
)

#: Open311 attributes of the public-space service (by service slug)
SERVICE_ATTRIBUTES = {
    "recycling-station": (
        {"code": "problem", "datatype": "singlevaluelist", "required": True, "position": 1,
         "description_ja": "どのような状況ですか", "description_en": "What is the problem?",
         "values": [
             {"key": "overflowing", "name_ja": "ごみがあふれている", "name_en": "Overflowing"},
             {"key": "dumping", "name_ja": "不法投棄", "name_en": "Illegal dumping"},
             {"key": "damaged", "name_ja": "設備の破損", "name_en": "Damaged facility"},
             {"key": "other", "name_ja": "その他", "name_en": "Other"}]},
        {"code": "station_number", "datatype": "string", "required": False, "position": 2,
         "description_ja": "集積所の番号（看板に記載）",
         "description_en": "Station number (on its sign)"},
    ),
}


def seed_reply_templates() -> int:
    """Add the starter reply templates that do not exist yet. Returns how many."""
    have = set(db.session.scalars(select(ReplyTemplate.name_en)))
    made = 0
    for values in REPLY_TEMPLATES:
        if values["name_en"] not in have:
            db.session.add(ReplyTemplate(department_id=None, active=True, **values))
            made += 1
    db.session.flush()
    return made


def seed_service_attributes() -> int:
    """Add the starter Open311 attributes that do not exist yet. Returns how many."""
    services = {s.slug: s for s in db.session.scalars(
        select(Service).where(Service.slug.in_(list(SERVICE_ATTRIBUTES))))}
    made = 0
    for slug, attributes in SERVICE_ATTRIBUTES.items():
        service = services.get(slug)
        if service is None:
            continue
        have = set(db.session.scalars(select(ServiceAttribute.code)
                                      .where(ServiceAttribute.service_id == service.id)))
        for values in attributes:
            if values["code"] not in have:
                db.session.add(ServiceAttribute(service_id=service.id, **values))
                made += 1
    db.session.flush()
    return made


# -- the demo ----------------------------------------------------------------------------

#: (subject ja, subject en, description ja, description en) per category
SUBJECTS = {
    InquiryCategory.QUESTION: [
        ("手続きについて教えてください", "How does the procedure work?",
         "初めて利用します。申し込みの流れと、どのくらい時間がかかるかを教えてください。",
         "I am using this for the first time. How do I apply, and how long does it take?"),
        ("必要な書類は何ですか", "Which documents do I need?",
         "窓口に行く前に、持っていく書類を確認したいです。代理人の場合も知りたいです。",
         "Before I come to the counter I would like to know what to bring, also for a "
         "representative."),
        ("受付時間について", "About the opening hours",
         "土曜日や平日の夜にも受け付けていますか。", "Are you open on Saturdays or on weekday "
         "evenings?")],
    InquiryCategory.REQUEST: [
        ("予約を変更したい", "I would like to change my booking",
         "来週の予約を別の日に変更したいのですが、オンラインでできません。",
         "I would like to move next week's booking to another day, but I cannot do it online."),
        ("書類の再発行をお願いします", "Please reissue the document",
         "以前受け取った通知をなくしてしまいました。再発行できますか。",
         "I have lost the notice I received. Can it be reissued?")],
    InquiryCategory.COMPLAINT: [
        ("窓口の待ち時間が長い", "The wait at the counter was long",
         "昨日の午前中、窓口で1時間以上待ちました。混雑状況を事前に知る方法はありますか。",
         "Yesterday morning I waited more than an hour at the counter. Can I see how busy it "
         "is beforehand?"),
        ("案内がわかりにくい", "The information was confusing",
         "ウェブサイトの説明と窓口での説明が違っていて、二度足を運ぶことになりました。",
         "The website and the counter told me different things, so I had to come twice.")],
    InquiryCategory.PROBLEM: [
        ("オンライン申請でエラーが出ます", "The online form shows an error",
         "送信ボタンを押すとエラーになり、最初からやり直しになります。",
         "When I press send I get an error and have to start again."),
        ("予約確認のメールが届きません", "No booking confirmation e-mail arrived",
         "予約したはずですが、確認メールが届いていません。迷惑メールにもありません。",
         "I think I booked, but no confirmation arrived, not even in the spam folder.")],
}
#: problems reported about a public-space service (street, station, park)
PUBLIC_PROBLEMS = [
    ("集積所のごみがあふれています", "The collection point is overflowing",
     "回収日の翌日ですが、集積所からごみがあふれて道路に散らばっています。",
     "It is the day after collection, but the collection point is overflowing onto the road."),
    ("不法投棄があります", "Illegal dumping",
     "集積所の横に古い家電が置かれたままになっています。", "Old appliances have been left "
     "next to the collection point."),
    ("設備が壊れています", "Something is broken",
     "集積所のネットが破れていて、カラスがごみを荒らしています。",
     "The net at the collection point is torn and crows are getting at the rubbish."),
]
#: the names reporters give in an Open311 app (no resident record: apps do not say who)
APP_REPORTERS = ["Taro", "Hanako Y.", "さくら", ""]
TARGETS: dict[tuple[str, int], tuple[int, int]] = {}
STAFF_CHANNELS = [InquiryChannel.PHONE, InquiryChannel.PHONE, InquiryChannel.COUNTER,
                  InquiryChannel.EMAIL, InquiryChannel.LETTER]


def fill_demo(*, seed: int, months: int, share: float = 0.12) -> dict[str, int]:
    """Inquiries by about ``share`` of the demo residents, about services they used,
    received over the last ``months`` months (mostly the last three). Returns counts."""
    rng = random.Random(seed * 104729)
    TARGETS.clear()  # policies may have changed since the last demo
    now = utcnow().replace(microsecond=0)
    calendar = sla.load_calendar()
    services = {s.id: s for s in db.session.scalars(select(Service).where(
        Service.active.is_(True)))}
    staff_by_department: dict[int, list[int]] = {}
    for user_id, department_id in db.session.execute(
            select(User.id, User.department_id).where(User.role == Role.STAFF,
                                                      User.department_id.is_not(None))):
        staff_by_department.setdefault(department_id, []).append(user_id)
    anyone = db.session.scalar(select(User.id).where(User.role.in_([Role.MANAGER, Role.ADMIN]))
                               .order_by(User.id).limit(1))
    e = UsageEvent.__table__
    pairs = db.session.execute(select(e.c.resident_id, e.c.service_id,
                                      func.max(e.c.occurred_at))
                               .group_by(e.c.resident_id, e.c.service_id)).all()
    residents = sorted({r for r, _, _ in pairs})
    chosen = set(rng.sample(residents, round(len(residents) * share))) if residents else set()
    locales = dict(db.session.execute(select(Resident.id, Resident.preferred_locale)
                                      .where(Resident.id.in_(chosen))).all()) if chosen else {}
    span = max(30, round(months * 30.44))
    rows: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    for resident_id, service_id, last_use in pairs:
        if resident_id not in chosen or rng.random() < 0.6:
            continue
        service = services.get(service_id)
        if service is None:
            continue
        for _ in range(1 if rng.random() < 0.8 else 2):
            rows.append(_row(rng, service, resident_id, locales.get(resident_id, "ja"),
                             now, span, calendar, last_use))
            plans.append(rows[-1].pop("_plan"))
    rows += _demo_residents_own(rng, services, pairs, now, span, calendar, plans)
    if not rows:
        return {"inquiries": 0, "messages": 0}
    # ids given here: one executemany of uniform rows (RETURNING per row is slow on SQLite)
    first_id = (db.session.scalar(select(func.max(Inquiry.id))) or 0) + 1
    ids = list(range(first_id, first_id + len(rows)))
    for inquiry_id, row in zip(ids, rows, strict=True):
        row["id"] = inquiry_id
    for offset in range(0, len(rows), 5000):
        db.session.execute(insert(Inquiry.__table__), rows[offset:offset + 5000])
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('inquiries', 'id'), "
                                "(SELECT max(id) FROM inquiries))"))
    messages: list[dict[str, Any]] = []
    for inquiry_id, row, plan in zip(ids, rows, plans, strict=True):
        workers = staff_by_department.get(row["department_id"]) or [anyone]
        worker = rng.choice(workers)
        messages += _thread(rng, inquiry_id, row, plan, worker)
    blank = {"event": None, "data": None, "body": "", "author_id": None, "template_id": None}
    messages = [{**blank, **m} for m in messages]  # uniform rows: one executemany
    for offset in range(0, len(messages), 5000):
        db.session.execute(insert(InquiryMessage.__table__), messages[offset:offset + 5000])
    # a few duplicates, merged into the resident's other inquiry about the service
    merged = _merge_some(rng, ids, rows)
    db.session.flush()
    return {"inquiries": len(ids), "messages": len(messages), "merged": merged}


def _demo_residents_own(rng: random.Random, services: dict[int, Service], pairs, now,
                        span: int, calendar, plans: list) -> list[dict[str, Any]]:
    """The demo resident's account (``resident@demo.example``) gets two inquiries of its
    own — one answered and waiting for them, one resolved last week — so My page and
    the inquiry pages have something to show when one signs in as them."""
    from portal.demo.generator import demo_accounts

    email = next((a["email"] for a in demo_accounts() if a["role"] == Role.RESIDENT), None)
    resident = db.session.scalar(select(Resident).join(User, User.id == Resident.user_id)
                                 .where(User.email == email)) if email else None
    used = [(service_id, last) for r, service_id, last in pairs
            if resident is not None and r == resident.id and service_id in services]
    if not used:
        return []
    made = []
    for (service_id, last), outcome, days in zip(used * 2, ("waiting", "resolved"), (3, 9),
                                                  strict=False):
        row = _row(rng, services[service_id], resident.id, resident.preferred_locale, now,
                   span, calendar, last, outcome=outcome, days_ago=days)
        row["channel"] = InquiryChannel.WEB
        plans.append(row.pop("_plan"))
        made.append(row)
    return made


def _row(rng: random.Random, service: Service, resident_id: int, locale: str, now, span: int,
         calendar, last_use, *, outcome: str | None = None, days_ago: float | None = None
         ) -> dict[str, Any]:
    public = bool(service.public_space)
    category = (InquiryCategory.PROBLEM if public and rng.random() < 0.7 else
                rng.choice([InquiryCategory.QUESTION, InquiryCategory.QUESTION,
                            InquiryCategory.REQUEST, InquiryCategory.COMPLAINT,
                            InquiryCategory.PROBLEM]))
    if outcome is None and public and service.service_code and rng.random() < 0.5:
        channel = InquiryChannel.OPEN311
    else:
        channel = InquiryChannel.WEB if rng.random() < 0.55 else rng.choice(STAFF_CHANNELS)
    # most inquiries are recent; an inquiry follows a use of the service
    if days_ago is None:
        days_ago = rng.uniform(0, 90) if rng.random() < 0.7 else rng.uniform(0, span)
    received = max(now - timedelta(days=days_ago), min(now, last_use + timedelta(hours=2)))
    key = (category, service.id)
    if key not in TARGETS:  # one look-up per category and service, not per inquiry
        TARGETS[key] = sla.targets(category, service.id)
    first_days, resolution_days = TARGETS[key]
    first_due = sla.due_after(received, first_days, calendar)
    resolution_due = sla.due_after(received, resolution_days, calendar)
    age = (now - received).days
    # how far it got: older inquiries are done more often
    roll = rng.random()
    if outcome is not None:
        pass  # chosen by the caller (the demo resident's own inquiries)
    elif age > 20:
        outcome = "resolved" if roll < 0.76 else "closed" if roll < 0.99 else "open"
    elif age > 7:
        outcome = "resolved" if roll < 0.8 else "waiting" if roll < 0.9 else "open"
    else:
        # an office answers within days: "new" only for the last two days' inquiries
        outcome = ("new" if roll < 0.25 and age <= 2 else "open" if roll < 0.45 else
                   "waiting" if roll < 0.6 else "resolved")
    reply_at = resolved_at = closed_at = reopened_at = None
    reopen_count = 0
    if outcome != "new":
        reply_at = received + timedelta(hours=rng.uniform(1, 24 * (first_days + 2)))
        reply_at = min(reply_at, now)
    if outcome in ("resolved", "closed"):
        late = rng.random() < 0.2  # one in five after the target
        hours = rng.uniform(24 * resolution_days, 24 * (resolution_days + 6)) if late \
            else rng.uniform(2, 24 * max(1, resolution_days - 1))
        resolved_at = min(now, max(reply_at, received + timedelta(hours=hours)))
        if outcome == "closed":
            closed_at = min(now, resolved_at + timedelta(days=rng.uniform(1, 14)))
    elif outcome in ("open", "waiting") and age > 10 and rng.random() < 0.15:
        # resolved once, then reopened by the resident: a new resolution target
        reopened_at = min(now, reply_at + timedelta(days=rng.uniform(1, 5)))
        reopen_count = 1
        resolution_due = sla.due_after(reopened_at, resolution_days, calendar)
    pending = outcome in ("new", "open", "waiting")
    due = (first_due if reply_at is None else resolution_due) if pending else None
    subject_ja, subject_en, text_ja, text_en = rng.choice(
        PUBLIC_PROBLEMS if public and category == InquiryCategory.PROBLEM
        else SUBJECTS[category])
    point = public and rng.random() < 0.8
    app = channel == InquiryChannel.OPEN311
    return {
        "resident_id": None if app else resident_id, "service_id": service.id,
        "caller_name": (rng.choice(APP_REPORTERS) or None) if app else None,
        "department_id": service.department_id, "category": category, "channel": channel,
        "status": outcome, "subject": subject_ja if locale == "ja" else subject_en,
        "description": text_ja if locale == "ja" else text_en,
        "locale": locale, "created_at": received,
        "updated_at": closed_at or resolved_at or reopened_at or reply_at or received,
        "first_response_due_at": first_due, "resolution_due_at": resolution_due, "due_at": due,
        "first_response_at": reply_at, "resolved_at": resolved_at, "closed_at": closed_at,
        "reopened_at": reopened_at, "reopen_count": reopen_count,
        "latitude": 36.07 + rng.uniform(-0.03, 0.03) if point else None,
        "longitude": 140.11 + rng.uniform(-0.03, 0.03) if point else None,
        "address": "桜川市中央1丁目 集積所" if public else None,
        "attributes": {"problem": rng.choice(["overflowing", "dumping", "damaged"])}
        if public and channel == InquiryChannel.OPEN311 else None,
        "_plan": {"note": rng.random() < 0.3},
    }


def _thread(rng: random.Random, inquiry_id: int, row: dict, plan: dict, worker: int
            ) -> list[dict[str, Any]]:
    ja = row["locale"] == "ja"
    received = row["created_at"]
    out: list[dict[str, Any]] = []  # the description is the inquiry's, not a message
    if row["channel"] in STAFF_CHANNELS:
        out.append({"inquiry_id": inquiry_id, "kind": "event", "event": "recorded",
                    "data": {"channel": row["channel"]}, "public": False, "author_id": worker,
                    "created_at": received})
    if plan["note"]:
        out.append({"inquiry_id": inquiry_id, "kind": "note", "public": False,
                    "body": "前回の窓口対応の記録を確認済み。", "author_id": worker,
                    "created_at": received + timedelta(minutes=rng.randint(10, 300))})
    if row["first_response_at"] is not None:
        out.append({"inquiry_id": inquiry_id, "kind": "reply", "public": True,
                    "body": "お問い合わせありがとうございます。確認のうえご連絡いたします。" if ja
                    else "Thank you for your inquiry. We will look into it.",
                    "author_id": worker, "created_at": row["first_response_at"]})
    for moment, before, after in _status_steps(row):
        out.append({"inquiry_id": inquiry_id, "kind": "event", "event": "status",
                    "data": {"from": before, "to": after}, "public": True,
                    "author_id": worker, "created_at": moment})
    if row["reopened_at"] is not None:
        out.append({"inquiry_id": inquiry_id, "kind": "event", "event": "reopened",
                    "data": {}, "public": True, "created_at": row["reopened_at"]})
    return out


def _status_steps(row: dict) -> list[tuple]:
    steps = []
    if row["first_response_at"] is not None:
        steps.append((row["first_response_at"], "new", "waiting"))
    if row["reopened_at"] is not None:
        steps.append((row["reopened_at"] - timedelta(hours=1), "waiting", "resolved"))
        steps.append((row["reopened_at"], "resolved", "open"))
    if row["resolved_at"] is not None:
        steps.append((row["resolved_at"], "waiting", "resolved"))
    if row["closed_at"] is not None:
        steps.append((row["closed_at"], "resolved", "closed"))
    return steps


def _merge_some(rng: random.Random, ids: list[int], rows: list[dict]) -> int:
    """Close a few second inquiries of a resident about a service as duplicates."""
    first: dict[tuple[int, int], int] = {}
    merged = 0
    for inquiry_id, row in zip(ids, rows, strict=True):
        key = (row["resident_id"], row["service_id"])
        if key in first and row["status"] in ("new", "open") and rng.random() < 0.5:
            db.session.execute(update(Inquiry).where(Inquiry.id == inquiry_id).values(
                merged_into_id=first[key], status="closed", due_at=None,
                closed_at=row["created_at"] + timedelta(hours=3),
                resolved_at=row["created_at"] + timedelta(hours=3)))
            db.session.add(InquiryMessage(inquiry_id=inquiry_id, kind="event", event="merged",
                                          data={"into": first[key]}, public=True,
                                          created_at=row["created_at"] + timedelta(hours=3)))
            merged += 1
        first.setdefault(key, inquiry_id)
    return merged
