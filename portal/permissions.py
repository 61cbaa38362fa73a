"""Named permissions.

Each permission is a function of the user (and, where it needs one, the object).
Views use them through ``permission_required``; templates through ``can(...)``,
so a button is hidden by the same rule that guards its route.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from portal.auth.models import Role, User

Permission = Callable[..., bool]
REGISTRY: dict[str, Permission] = {}


def permission(func: Permission) -> Permission:
    """Register ``func`` under its name minus the ``can_`` prefix."""
    REGISTRY[func.__name__.removeprefix("can_")] = func
    return func


def _signed_in(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


@permission
def can_use_resident_portal(user: User) -> bool:
    return _signed_in(user) and user.role == Role.RESIDENT


@permission
def can_access_console(user: User) -> bool:
    return _signed_in(user) and user.role in Role.console_roles()


@permission
def can_manage_accounts(user: User) -> bool:
    return _signed_in(user) and user.role == Role.ADMIN


@permission
def can_view_audit_log(user: User) -> bool:
    return _signed_in(user) and user.role == Role.ADMIN


@permission
def can_manage_services(user: User) -> bool:
    """Departments and the service catalogue."""
    return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


@permission
def can_manage_districts(user: User) -> bool:
    """The municipality's districts and their names in each language."""
    return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


@permission
def can_view_residents(user: User) -> bool:
    """Individual resident records (officials see aggregates only)."""
    return _signed_in(user) and user.role in (Role.STAFF, Role.MANAGER, Role.ADMIN)


@permission
def can_view_all_usage(user: User) -> bool:
    """Usage of every department's services; staff see their own department's."""
    return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


@permission
def can_record_usage(user: User, service=None) -> bool:
    """Record a use on a resident's behalf (counter, phone ...), for ``service``."""
    if not can_view_residents(user):
        return False
    if service is None or user.role in (Role.MANAGER, Role.ADMIN):
        return True
    return service.department_id == user.department_id


@permission
def can_link_accounts(user: User) -> bool:
    """Attach a resident's account to a register record, after checking the resident's
    identity (the check is part of the form and goes into the audit entry): staff of a
    department, managers and admins. The account's owner then sees the whole record."""
    if not can_view_residents(user):
        return False
    return user.role != Role.STAFF or user.department_id is not None


@permission
def can_unlink_accounts(user: User) -> bool:
    """Take an account off a register record (a wrong link): managers and admins."""
    return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


@permission
def can_merge_residents(user: User) -> bool:
    return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


@permission
def can_import_data(user: User) -> bool:
    return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


@permission
def can_manage_api_tokens(user: User) -> bool:
    return _signed_in(user) and user.role == Role.ADMIN


@permission
def can_view_engagement(user: User, service=None) -> bool:
    """Engagement figures: staff for their department's services; managers, admins and
    officials for all (officials: aggregates only, see ``can_view_residents``)."""
    if not can_access_console(user):
        return False
    if service is None or user.role != Role.STAFF:
        return True
    return service.department_id == user.department_id


@permission
def can_manage_scoring(user: User) -> bool:
    """Weights and band edges, and starting a recompute."""
    return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


@permission
def can_view_calibration(user: User) -> bool:
    """How well the score predicted lapses, and the preview of a model change:
    for those who tune the model (aggregates only, every service)."""
    return can_manage_scoring(user)


# -- surveys ---------------------------------------------------------------------------

def _survey_department(survey_or_department) -> int | None:
    """A survey's owning department, or a department id given directly."""
    if survey_or_department is None or isinstance(survey_or_department, int):
        return survey_or_department
    return survey_or_department.department_id


@permission
def can_build_surveys(user: User, survey=None) -> bool:
    """Create and edit surveys, open and close them: managers and admins for any
    department; staff for their own department's (``survey``: a survey or a
    department id; None: may they build any at all)."""
    if not _signed_in(user):
        return False
    if user.role in (Role.MANAGER, Role.ADMIN):
        return True
    if user.role != Role.STAFF or user.department_id is None:
        return False
    department = _survey_department(survey)
    return department is None or department == user.department_id


@permission
def can_view_survey_results(user: User, survey=None) -> bool:
    """Aggregate results (suppressed below the minimum n): those who build the
    survey, and officials (aggregates only)."""
    if _signed_in(user) and user.role == Role.OFFICIAL:
        return True
    return can_build_surveys(user, survey)


@permission
def can_invite_to_surveys(user: User, survey=None) -> bool:
    """Pick an audience and send invitations and the reminder."""
    return can_build_surveys(user, survey)


@permission
def can_enter_survey_responses(user: User, survey=None) -> bool:
    """Enter a paper or phone response (on a resident's 360° page, or an anonymous
    paper form): staff of the survey's department, managers and admins."""
    return can_view_residents(user) and can_build_surveys(user, survey)


@permission
def can_read_survey_free_text(user: User, survey=None) -> bool:
    """Free-text answers (each view audited): not officials; for identified surveys
    the view further keeps to residents the reader may view."""
    return can_view_residents(user) and can_build_surveys(user, survey)


@permission
def can_export_survey_responses(user: User, survey=None) -> bool:
    """CSV/JSON of the responses: anonymous surveys for those who build them;
    identified surveys (resident columns) for managers and admins only."""
    if survey is not None and not survey.anonymous:
        return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)
    return can_read_survey_free_text(user, survey)


# -- inquiries -------------------------------------------------------------------------

def _inquiry_department(inquiry_or_department) -> int | None:
    if inquiry_or_department is None or isinstance(inquiry_or_department, int):
        return inquiry_or_department
    return inquiry_or_department.department_id


@permission
def can_work_inquiries(user: User, inquiry=None) -> bool:
    """The staff queue and an inquiry's page (read, reply, note, assign, route,
    merge, record on a resident's behalf): staff for their department's inquiries
    and the unrouted ones ("I don't know" which service: someone must route them);
    managers and admins for all. Officials see the KPIs only. ``inquiry``: an
    inquiry or a department id; None: may they work any at all."""
    if not can_view_residents(user):
        return False
    if user.role in (Role.MANAGER, Role.ADMIN):
        return True
    if user.department_id is None:
        return False
    department = _inquiry_department(inquiry)
    return inquiry is None or department is None or department == user.department_id


@permission
def can_view_inquiry_kpis(user: User, department=None) -> bool:
    """Inquiry KPIs (aggregates): staff for their department, managers, admins and
    officials for all."""
    if not can_access_console(user):
        return False
    if department is None or user.role != Role.STAFF:
        return True
    return _inquiry_department(department) == user.department_id


@permission
def can_manage_inquiry_settings(user: User) -> bool:
    """Service levels, closure days and reply templates."""
    return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


@permission
def can_manage_open311(user: User) -> bool:
    """Open311 api_keys (like the API tokens: admins)."""
    return _signed_in(user) and user.role == Role.ADMIN


@permission
def can_define_service_attributes(user: User) -> bool:
    """A service's Open311 attributes: those who manage the catalogue."""
    return can_manage_services(user)


def permission_required(check: Permission) -> Callable:
    """Sign-in first (redirect to login), then ``check(current_user)`` or 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any):
            if not check(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def can(name: str, *args: Any) -> bool:
    """Template helper: ``{% if can('manage_accounts') %}``."""
    return REGISTRY[name](current_user, *args)


# -- playbooks, cases, tasks and outreach ------------------------------------------------

def _department_of(obj) -> int | None:
    """A playbook's, case's or task's department (a department id given directly)."""
    if obj is None or isinstance(obj, int):
        return obj
    if hasattr(obj, "playbook"):  # a case
        return obj.playbook.department_id
    return obj.department_id


@permission
def can_manage_playbooks(user: User) -> bool:
    """Create and change playbooks (and start an evaluation): managers and admins."""
    return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


@permission
def can_view_playbooks(user: User, playbook=None) -> bool:
    """Read playbooks, their dry run and effectiveness: managers and admins all;
    staff their department's (``playbook``: a playbook or a department id; None:
    may they read any at all)."""
    if can_manage_playbooks(user):
        return True
    if not (_signed_in(user) and user.role == Role.STAFF and user.department_id is not None):
        return False
    department = _department_of(playbook)
    return department is None or department == user.department_id


@permission
def can_work_cases(user: User, case_or_task=None) -> bool:
    """Work a case or a task (complete, reassign, snooze, close; start a case by
    hand): staff of its department, managers and admins (None: any at all)."""
    return can_view_playbooks(user, case_or_task)


@permission
def can_manage_outreach_templates(user: User) -> bool:
    """Message templates of every department: managers and admins."""
    return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


@permission
def can_print_letters(user: User) -> bool:
    """The day's letters (postal addresses of residents of every department): download
    the batch and mark it printed — managers and admins."""
    return _signed_in(user) and user.role in (Role.MANAGER, Role.ADMIN)


# -- community Q&A and the FAQ --------------------------------------------------------

@permission
def can_post_in_community(user: User) -> bool:
    """Ask, answer, vote, accept, follow, edit and delete one's own posts: signed-in
    residents (staff answer officially instead; see ``can_answer_officially``)."""
    return can_use_resident_portal(user)


@permission
def can_flag_posts(user: User) -> bool:
    """Flag a post for moderators: anyone signed in."""
    return _signed_in(user)


@permission
def can_moderate_community(user: User) -> bool:
    """The moderation queue (approve, restore, hide, delete, silence): managers and
    admins, and staff given the moderator permission on their account."""
    if not _signed_in(user):
        return False
    if user.role in (Role.MANAGER, Role.ADMIN):
        return True
    return user.role == Role.STAFF and bool(user.community_moderator)


def _question_departments(question) -> set[int]:
    return {service.department_id for service in question.services}


@permission
def can_answer_officially(user: User, question=None) -> bool:
    """Give (and edit, and mark reviewed) an official answer: staff of a tagged
    service's department, managers and admins (None: may they give any at all)."""
    if not _signed_in(user) or user.role not in (Role.STAFF, Role.MANAGER, Role.ADMIN):
        return False
    if user.role in (Role.MANAGER, Role.ADMIN):
        return True
    if user.department_id is None:
        return False
    return question is None or user.department_id in _question_departments(question)


@permission
def can_view_community_insights(user: User, department=None) -> bool:
    """Unanswered questions, time to answer, most viewed without an official answer
    (aggregates): like the inquiry KPIs."""
    return can_view_inquiry_kpis(user, department)


@permission
def can_edit_faq(user: User, entry_or_department=None) -> bool:
    """Write, promote, edit, review and archive FAQ entries: staff for their
    department's entries, managers and admins all (``entry_or_department``: an entry
    or a department id; None: may they edit any at all)."""
    if not _signed_in(user):
        return False
    if user.role in (Role.MANAGER, Role.ADMIN):
        return True
    if user.role != Role.STAFF or user.department_id is None:
        return False
    department = _department_of(entry_or_department)
    return department is None or department == user.department_id


@permission
def can_manage_synonyms(user: User) -> bool:
    """The search's synonym list: anyone who edits FAQ entries (it serves them all)."""
    return can_edit_faq(user)


@permission
def can_edit_official_answer(user: User, post=None) -> bool:
    """Edit an official answer and mark it reviewed: staff of the department it is
    signed with, managers and admins (None: may they edit any at all)."""
    if not can_answer_officially(user):
        return False
    if user.role in (Role.MANAGER, Role.ADMIN) or post is None:
        return True
    return post.official_department_id == user.department_id
