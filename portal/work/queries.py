"""Reading the work: My work's list, the console home's counts, a case page's
parts and the resident's open cases on the 360° page.

My work is the union of up to three sets of open tasks, each one ordered range of
an index, so a page costs the same at 50 000 open cases as at 50:

- *mine*: assigned to me (``ix_tasks_assignee_status_due``);
- *my department's queue*: no assignee, in my department, for anyone or for staff
  (``ix_tasks_department_status_due``) — staff, and managers or admins who have a
  department;
- *the role queue*: no assignee, for the role "manager", in every department
  (``ix_tasks_role_status_due``) — managers and admins (they may have no
  department: they work every department's cases).

Due soonest first is overdue first. A snoozed task is hidden until its day unless
the filter asks for it. The total is counted up to ``COUNT_CAP`` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select, union_all
from sqlalchemy.orm import selectinload

from portal.auth.models import Role, User
from portal.extensions import db
from portal.pagination import RowPage
from portal.playbooks.models import Case, CaseNote, CaseStatus, Playbook, PlaybookVersion
from portal.services.models import Department
from portal.work.models import Task, TaskStatus

PAGE_SIZE = 25
COUNT_CAP = 10_000
MANAGER_ROLES = (Role.MANAGER, Role.ADMIN)
#: My work's "show" filter
SHOW_ALL, SHOW_MINE, SHOW_QUEUE = "all", "mine", "queue"


@dataclass
class WorkFilters:
    show: str = SHOW_ALL
    snoozed: bool = False  # show snoozed tasks too


@dataclass
class WorkPage(RowPage):
    capped: bool = False


def sees_every_department(user: User) -> bool:
    return user.role in MANAGER_ROLES


def _open() -> Any:
    return Task.status == TaskStatus.OPEN


def _mine(user: User) -> Select:
    return select(Task.id, Task.due_on).where(Task.assignee_id == user.id, _open())


def _queues(user: User) -> list[Select]:
    """The unassigned tasks ``user`` may pick up, one select per index range."""
    parts = []
    unassigned = Task.assignee_id.is_(None)
    if sees_every_department(user):
        parts.append(select(Task.id, Task.due_on).where(
            Task.assignee_role == Role.MANAGER, _open(), unassigned))
        if user.department_id is not None:
            parts.append(select(Task.id, Task.due_on).where(
                Task.department_id == user.department_id, _open(), unassigned,
                Task.assignee_role.is_(None)))
    elif user.role == Role.STAFF and user.department_id is not None:
        parts.append(select(Task.id, Task.due_on).where(
            Task.department_id == user.department_id, _open(), unassigned,
            or_(Task.assignee_role.is_(None), Task.assignee_role == Role.STAFF)))
    return parts


def parts_for(user: User, filters: WorkFilters, today: date) -> list[Select]:
    parts = []
    if filters.show in (SHOW_ALL, SHOW_MINE):
        parts.append(_mine(user))
    if filters.show in (SHOW_ALL, SHOW_QUEUE):
        parts += _queues(user)
    if not filters.snoozed:
        awake = or_(Task.snoozed_until.is_(None), Task.snoozed_until <= today)
        parts = [part.where(awake) for part in parts]
    return parts


def work_page(user: User, filters: WorkFilters, today: date, page: int,
              per_page: int = PAGE_SIZE) -> WorkPage:
    """One page of My work: a capped count, the page's ids (each set cut at the
    page's end in its own index order, then merged), the tasks and what a row
    shows — a fixed number of queries."""
    parts = parts_for(user, filters, today)
    if not parts:
        return WorkPage(items=[], page=1, per_page=per_page, total=0)
    limited = [select(*p.limit(COUNT_CAP + 1).subquery().c) for p in parts]
    counted = union_all(*limited).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted)) or 0
    capped = total > COUNT_CAP
    total = min(total, COUNT_CAP)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    end = page * per_page
    heads = [select(*p.order_by(Task.due_on, Task.id).limit(end).subquery().c) for p in parts]
    merged = union_all(*heads).subquery()
    ids = list(db.session.scalars(
        select(merged.c.id).order_by(merged.c.due_on, merged.c.id)
        .limit(per_page).offset((page - 1) * per_page))) if total else []
    items = _tasks(ids)
    return WorkPage(items=items, page=page, per_page=per_page, total=total, capped=capped)


def _tasks(ids: list[int]) -> list[Task]:
    if not ids:
        return []
    found = {t.id: t for t in db.session.scalars(
        select(Task).where(Task.id.in_(ids)).options(
            selectinload(Task.case).selectinload(Case.service),
            selectinload(Task.resident), selectinload(Task.assignee)))}
    return [found[i] for i in ids if i in found]


# -- the console home -------------------------------------------------------------------

@dataclass(frozen=True)
class HomeCounts:
    mine: int
    mine_overdue: int
    department_overdue: int
    department_id: int | None  # None: every department (managers without one)


def home_counts(user: User, today: date) -> HomeCounts:
    """"My open tasks" (n, overdue n) and "overdue in my department" (n): two counts
    over index ranges. Managers and admins without a department count every
    department's overdue tasks."""
    overdue = Task.due_on < today
    mine, mine_overdue = db.session.execute(
        select(func.count(), func.count().filter(overdue))
        .where(Task.assignee_id == user.id, _open())).one()
    if user.department_id is not None:
        scope = Task.department_id == user.department_id
    elif sees_every_department(user):
        # one range per department, not a scan of every open task
        scope = Task.department_id.in_(select(Department.id).scalar_subquery())
    else:
        scope = None
    department_overdue = db.session.scalar(
        select(func.count()).select_from(Task).where(scope, _open(), overdue)
    ) if scope is not None else 0
    return HomeCounts(mine or 0, mine_overdue or 0, department_overdue or 0,
                      user.department_id)


def home_panel(user: User) -> HomeCounts | None:
    """The console home's work panels, for those who work cases."""
    from portal.permissions import can_work_cases
    from portal.timeutil import local_today

    return home_counts(user, local_today()) if can_work_cases(user) else None


# -- one case ---------------------------------------------------------------------------

def version_snapshot(case: Case) -> dict[str, Any]:
    """The definition of the version that opened ``case`` (the playbook's current
    one if that version was never stored)."""
    snapshot = db.session.scalar(select(PlaybookVersion.snapshot).where(
        PlaybookVersion.playbook_id == case.playbook_id,
        PlaybookVersion.version == case.playbook_version))
    return snapshot if snapshot is not None else case.playbook.snapshot()


def case_tasks(case: Case) -> list[Task]:
    return list(db.session.scalars(
        select(Task).where(Task.case_id == case.id)
        .options(selectinload(Task.assignee), selectinload(Task.completed_by))
        .order_by(Task.step, Task.id)))


def case_notes(case: Case) -> list[CaseNote]:
    return list(db.session.scalars(
        select(CaseNote).where(CaseNote.case_id == case.id)
        .options(selectinload(CaseNote.author))
        .order_by(CaseNote.created_at, CaseNote.id)))


def case_messages(case: Case) -> list:
    from portal.outreach.models import OutreachMessage

    return list(db.session.scalars(
        select(OutreachMessage).where(OutreachMessage.case_id == case.id)
        .options(selectinload(OutreachMessage.template))
        .order_by(OutreachMessage.created_at, OutreachMessage.id)))


def scoring_model_at(case: Case):
    """The scoring model in force when ``case`` opened: the service's newest version
    made before then, else the default's (what explains ``*_at_open``)."""
    from portal.engagement.models import ScoringModel

    if case.service_id is None:
        return None
    for scope in (ScoringModel.service_id == case.service_id,
                  ScoringModel.service_id.is_(None)):
        model = db.session.scalar(
            select(ScoringModel).where(scope, ScoringModel.created_at <= case.opened_at)
            .order_by(ScoringModel.version.desc()).limit(1))
        if model is not None:
            return model
    return db.session.scalar(select(ScoringModel).where(ScoringModel.service_id.is_(None))
                             .order_by(ScoringModel.version).limit(1))


def colleagues(department_id: int, viewer: User) -> list[User]:
    """Whom a task of ``department_id`` can be given to: the department's active
    staff; managers and admins may also give it to a manager or an admin."""
    people = (User.role == Role.STAFF) & (User.department_id == department_id)
    if sees_every_department(viewer):
        people = people | User.role.in_([Role.MANAGER, Role.ADMIN])
    return list(db.session.scalars(select(User).where(User.active.is_(True), people)
                                   .order_by(User.display_name, User.id)))


# -- the resident's 360° page -------------------------------------------------------------

def resident_open_cases(resident_id: int, viewer: User) -> list[Case]:
    """The resident's open cases ``viewer`` may work, newest first (one query on
    ``ix_playbook_cases_resident``)."""
    stmt = (select(Case).join(Playbook, Playbook.id == Case.playbook_id)
            .where(Case.resident_id == resident_id, Case.status == CaseStatus.OPEN)
            .options(selectinload(Case.service))
            .order_by(Case.opened_at.desc(), Case.id.desc()).limit(50))
    if not sees_every_department(viewer):
        if viewer.department_id is None:
            return []
        stmt = stmt.where(Playbook.department_id == viewer.department_id)
    return list(db.session.scalars(stmt))

