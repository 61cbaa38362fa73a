"""Follow-up e-mails: a new public answer on a followed question becomes a
``Notification`` for each follower (not for the answer's author), and a daily job
sends each follower at most one digest e-mail listing the questions with their new
answers.

Who gets no e-mail (their notifications are marked digested without a message, so
they are not sent later either):

- an account that is deactivated or has no e-mail address;
- a resident whose register record says *do not contact* (the same contact
  preference the outreach respects);
- answers that are no longer public by the time of the digest (hidden, deleted,
  or their question no longer public) are left out; if nothing is left, no e-mail.

At most one digest per person per day (the portal's local calendar day): someone
whose last digest (``Member.last_digest_at``) went out earlier the same day waits for
the next day's run, their notifications kept. The e-mail is written in the follower's language
(account setting, then the register record's preferred language, then the
portal's default) and goes through the outbox.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from datetime import datetime

import nh3
from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import exists, insert, literal, select
from sqlalchemy.orm import aliased

from portal.auth.models import User
from portal.community import events
from portal.community.models import Follow, Member, Notification, Post, PostKind, PostStatus
from portal.db_types import UTCDateTime
from portal.extensions import db
from portal.i18n import municipality_name
from portal.i18n_fields import localized
from portal.mail.outbox import dispatch, queue_email
from portal.residents.models import Resident
from portal.security import absolute_url
from portal.services.models import Department
from portal.timeutil import local_day_start, local_zone, utcnow

#: the least time between two digests to one person; an hour's leeway under a day, so
#: a daily run that starts a few minutes earlier than yesterday's does not skip a day
BATCH = 500  # followers per transaction
EXCERPT_CHARS = 160
PURPOSE = "community_digest"


@events.on_answer_published
def notify_followers(answer: Post) -> int:
    """One notification per follower of the answer's question (not its author), once
    per answer: a restored answer does not notify twice."""
    if answer.kind != PostKind.ANSWER or answer.status != PostStatus.PUBLISHED:
        return 0
    already = select(Notification.id).where(Notification.answer_id == answer.id,
                                            Notification.user_id == Follow.user_id)
    followers = select(Follow.user_id, literal(answer.question_id), literal(answer.id),
                       literal(utcnow(), UTCDateTime())).where(
        Follow.question_id == answer.question_id, ~exists(already))
    if answer.author_id is not None:
        followers = followers.where(Follow.user_id != answer.author_id)
    result = db.session.execute(insert(Notification).from_select(
        ["user_id", "question_id", "answer_id", "created_at"], followers))
    return result.rowcount or 0


def _due_followers(now: datetime, after: int, limit: int) -> list[int]:
    """Followers with undigested notifications whose last digest is old enough."""
    today_began = local_day_start(now.astimezone(local_zone()).date())
    recent = select(Member.user_id).where(Member.user_id == Notification.user_id,
                                          Member.last_digest_at >= today_began)
    return list(db.session.scalars(
        select(Notification.user_id).where(Notification.digested_at.is_(None),
                                           Notification.user_id > after, ~exists(recent))
        .group_by(Notification.user_id).order_by(Notification.user_id).limit(limit)))


def excerpt(body_html: str, limit: int = EXCERPT_CHARS) -> str:
    """The first words of a post as plain text."""
    text = html.unescape(nh3.clean(body_html or "", tags=set()))
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _locale(user: User, resident_locale: str | None) -> str:
    locales = current_app.config["LOCALES"]
    for value in (user.locale, resident_locale):
        if value in locales:
            return value
    return current_app.config["DEFAULT_LOCALE"]


def _department_name(departments: dict[int, Department], department_id: int | None,
                     locale: str) -> str:
    department = departments.get(department_id)
    return localized(department, "name", locale) if department is not None else ""


def compose(user: User, questions: list[tuple[Post, list[Post]]],
            departments: dict[int, Department], locale: str) -> tuple[str, str]:
    """Subject and body in ``locale`` (call inside ``force_locale(locale)``)."""
    total = sum(len(answers) for _question, answers in questions)
    city = municipality_name(locale)
    subject = ngettext("%(num)s new answer to questions you follow",
                       "%(num)s new answers to questions you follow", total)
    lines = [_("Hello %(name)s,", name=user.display_name), "",
             _("There are new answers in the community Q&A of %(city)s to questions you "
               "follow.", city=city), ""]
    for question, answers in questions:
        lines.append(f"■ {question.title}")
        lines.append(ngettext("%(num)s new answer", "%(num)s new answers", len(answers)))
        for answer in answers:
            label = ""
            if answer.official:
                label = "[" + _("Official answer — %(department)s",
                                department=_department_name(
                                    departments, answer.official_department_id, locale)) + "] "
            lines.append(f"  - {label}{excerpt(answer.body_html)}")
        lines.append("  " + absolute_url("community.question", question_id=question.id))
        lines.append("")
    lines += [_("You get at most one such e-mail a day. To stop following a question, open "
                "it and choose “Stop following”; you will no longer be e-mailed about it."),
              "", city]
    return subject, "\n".join(lines)


def send_digests(now: datetime | None = None) -> int:
    """Job entry point (daily; ``portal community send-digests``): one digest per
    follower who has new answers waiting, committed per batch of followers. Returns
    the number of e-mails queued."""
    now = now or utcnow()
    queued, after = 0, 0
    departments = {d.id: d for d in db.session.scalars(select(Department))}
    while True:
        user_ids = _due_followers(now, after, BATCH)
        if not user_ids:
            break
        after = user_ids[-1]
        queued += _send_batch(user_ids, now, departments)
        db.session.commit()
    if queued:
        dispatch()
    return queued


def _send_batch(user_ids: list[int], now: datetime, departments: dict[int, Department]) -> int:
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
    register = {row.user_id: row for row in db.session.execute(
        select(Resident.user_id, Resident.do_not_contact, Resident.preferred_locale)
        .where(Resident.user_id.in_(user_ids)))}
    members = {m.user_id: m for m in db.session.scalars(
        select(Member).where(Member.user_id.in_(user_ids)))}
    answer, question = aliased(Post), aliased(Post)
    waiting: dict[int, list[tuple[Notification, Post, Post]]] = defaultdict(list)
    for note, answer_post, question_post in db.session.execute(
            select(Notification, answer, question)
            .join(answer, answer.id == Notification.answer_id)
            .join(question, question.id == Notification.question_id)
            .where(Notification.user_id.in_(user_ids), Notification.digested_at.is_(None))
            .order_by(Notification.user_id, question.id, answer.created_at, answer.id)):
        waiting[note.user_id].append((note, answer_post, question_post))
    queued = 0
    for user_id in user_ids:
        user, entry = users.get(user_id), register.get(user_id)
        rows = waiting.get(user_id, [])
        reachable = (user is not None and user.active and bool(user.email)
                     and not (entry is not None and entry.do_not_contact))
        public = [(n, a, q) for n, a, q in rows
                  if a.status == PostStatus.PUBLISHED and q.status == PostStatus.PUBLISHED]
        message = None
        if reachable and public:
            by_question: dict[int, tuple[Post, list[Post]]] = {}
            for _note, answer_post, question_post in public:
                by_question.setdefault(question_post.id, (question_post, []))[1].append(
                    answer_post)
            locale = _locale(user, entry.preferred_locale if entry is not None else None)
            with force_locale(locale):
                subject, body = compose(user, list(by_question.values()), departments, locale)
            message = queue_email(to=user.email, subject=subject, body=body, locale=locale,
                                  purpose=PURPOSE, user=user)
            member = members.get(user_id)
            if member is None:
                member = Member(user_id=user_id)
                db.session.add(member)
            member.last_digest_at = now
            queued += 1
        sent_ids = {n.id for n, _a, _q in public} if message is not None else set()
        for note, _a, _q in rows:
            note.digested_at = now
            if note.id in sent_ids:
                note.outbound_message_id = message.id
    db.session.flush()
    return queued
