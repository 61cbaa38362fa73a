"""Community insights per department, for the console home: what residents are left
waiting on and where an official answer would help most.

For each department (the departments of the services a question is tagged with; a
question tagged with two services of one department counts once for it):

- **unanswered**: public questions with no public answer, by service, with the age of
  the oldest (all time: an unanswered question does not stop waiting);
- **time to first answer** and **time to first official answer**: the median over the
  public questions asked in the last ``WINDOW_DAYS`` days that have one, with its n,
  and how many of those questions are still without one;
- **most viewed without an official answer**: the top ``TOP`` public questions by
  views that no department has answered officially.

A handful of set-based queries whatever the number of departments (no query per
department or per question).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal.community.models import Post, PostKind, PostStatus, QuestionService
from portal.extensions import db
from portal.permissions import can_view_community_insights
from portal.services.models import Department, Service
from portal.timeutil import utcnow

WINDOW_DAYS = 90
TOP = 5


@dataclass
class Timing:
    """Time from asking to an answer over the window: median in hours (None: no
    question has one yet), n questions that have one, ``without``: still none."""

    median_hours: float | None = None
    n: int = 0
    without: int = 0


@dataclass
class ServiceBacklog:
    service: Service
    unanswered: int
    oldest_days: int


@dataclass
class Viewed:
    question_id: int
    title: str
    views: int
    answers: int
    asked_at: datetime


@dataclass
class DepartmentInsights:
    department: Department
    unanswered: int = 0
    oldest_days: int | None = None
    by_service: list[ServiceBacklog] = field(default_factory=list)
    asked: int = 0  # public questions asked in the window
    first_answer: Timing = field(default_factory=Timing)
    first_official: Timing = field(default_factory=Timing)
    most_viewed: list[Viewed] = field(default_factory=list)


def _public_questions():
    return (Post.kind == PostKind.QUESTION, Post.status == PostStatus.PUBLISHED)


def _tagged(department_ids: list[int] | None):
    """(question id, department id) pairs, once each: a question's departments."""
    stmt = (select(QuestionService.question_id.label("question_id"),
                   Service.department_id.label("department_id"))
            .join(Service, Service.id == QuestionService.service_id).distinct())
    if department_ids is not None:
        stmt = stmt.where(Service.department_id.in_(department_ids))
    return stmt.subquery()


def _timing(durations: list[float], without: int) -> Timing:
    return Timing(median_hours=statistics.median(durations) if durations else None,
                  n=len(durations), without=without)


def compute(department_ids: list[int] | None = None,
            now: datetime | None = None) -> list[DepartmentInsights]:
    """The insights of ``department_ids`` (None: every department), in name order."""
    now = now or utcnow()
    stmt = select(Department).order_by(Department.id)
    if department_ids is not None:
        stmt = stmt.where(Department.id.in_(department_ids))
    result = {d.id: DepartmentInsights(department=d) for d in db.session.scalars(stmt)}
    if not result:
        return []
    ids = list(result)
    services = {s.id: s for s in db.session.scalars(
        select(Service).where(Service.department_id.in_(ids)))}

    def days(moment: datetime) -> int:
        return max((now - moment).days, 0)

    # unanswered, by service (a question tagged with two services shows under each)
    for department_id, service_id, count, oldest in db.session.execute(
            select(Service.department_id, Service.id, func.count(Post.id),
                   func.min(Post.created_at))
            .join(QuestionService, QuestionService.service_id == Service.id)
            .join(Post, Post.id == QuestionService.question_id)
            .where(*_public_questions(), Post.answer_count == 0, Service.department_id.in_(ids))
            .group_by(Service.department_id, Service.id)):
        result[department_id].by_service.append(
            ServiceBacklog(service=services[service_id], unanswered=count,
                           oldest_days=days(oldest)))
    for item in result.values():
        item.by_service.sort(key=lambda row: (-row.unanswered, row.service.id))

    tagged = _tagged(ids)
    # unanswered per department (each question once)
    for department_id, count, oldest in db.session.execute(
            select(tagged.c.department_id, func.count(Post.id), func.min(Post.created_at))
            .join(Post, Post.id == tagged.c.question_id)
            .where(*_public_questions(), Post.answer_count == 0)
            .group_by(tagged.c.department_id)):
        result[department_id].unanswered = count
        result[department_id].oldest_days = days(oldest)

    # time to first answer / first official answer, questions of the window
    answered: dict[int, list[float]] = {i: [] for i in ids}
    officially: dict[int, list[float]] = {i: [] for i in ids}
    for department_id, asked_at, first_at, official_at in db.session.execute(
            select(tagged.c.department_id, Post.created_at, Post.first_answer_at,
                   Post.first_official_answer_at)
            .join(Post, Post.id == tagged.c.question_id)
            .where(*_public_questions(),
                   Post.created_at >= now - timedelta(days=WINDOW_DAYS))):
        result[department_id].asked += 1
        if first_at is not None:
            answered[department_id].append(max((first_at - asked_at).total_seconds(), 0) / 3600)
        if official_at is not None:
            officially[department_id].append(
                max((official_at - asked_at).total_seconds(), 0) / 3600)
    for department_id, item in result.items():
        item.first_answer = _timing(answered[department_id],
                                    item.asked - len(answered[department_id]))
        item.first_official = _timing(officially[department_id],
                                      item.asked - len(officially[department_id]))

    # most viewed without an official answer: the top few per department in one query
    rank = func.row_number().over(partition_by=tagged.c.department_id,
                                  order_by=(Post.view_count.desc(), Post.id.desc()))
    ranked = (select(tagged.c.department_id, Post.id, Post.title, Post.view_count,
                     Post.answer_count, Post.created_at, rank.label("rank"))
              .join(Post, Post.id == tagged.c.question_id)
              .where(*_public_questions(), Post.first_official_answer_at.is_(None))
              .subquery())
    for row in db.session.execute(select(ranked).where(ranked.c.rank <= TOP)
                                  .order_by(ranked.c.department_id, ranked.c.rank)):
        result[row.department_id].most_viewed.append(
            Viewed(question_id=row.id, title=row.title, views=row.view_count,
                   answers=row.answer_count, asked_at=row.created_at))
    return sorted(result.values(), key=lambda item: item.department.name)


def home_panel(user, now: datetime | None = None) -> dict | None:
    """The console home's community panel: staff their department's, managers, admins
    and officials every department's (None: not shown)."""
    if not can_view_community_insights(user):
        return None
    if user.role == "staff":
        if user.department_id is None:
            return None
        departments = compute([user.department_id], now)
    else:
        departments = compute(None, now)
    return {"departments": departments, "window_days": WINDOW_DAYS, "top": TOP,
            "own_only": user.role == "staff"}
