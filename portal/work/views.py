"""My work (/admin/work/) and the case page: what staff see and the actions they
take there. Every change goes through ``portal.work.operations``; a refused
action shows the case page again with the reason and the typed form, nothing
kept."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext, pgettext
from flask_login import current_user
from werkzeug.routing import BuildError

from portal.audit.recording import record, record_many
from portal.auth.models import User
from portal.extensions import db
from portal.forms import filter_values
from portal.outreach.labels import (
    CHANNEL_LABELS as MESSAGE_CHANNEL_LABELS,
)
from portal.outreach.labels import (
    MESSAGE_STATUS_LABELS,
    SUPPRESSION_LABELS,
    TOUCHPOINT_ACTION_LABELS,
)
from portal.permissions import can_view_playbooks, can_work_cases, permission_required
from portal.playbooks.labels import CASE_STATUS_LABELS, HELD_OUT_LABEL, OUTCOME_LABELS
from portal.playbooks.models import Case
from portal.rendering import render_and_commit
from portal.services.usage import CHANNEL_LABELS as USAGE_CHANNEL_LABELS
from portal.timeutil import local_today, utcnow
from portal.work import bp, describe, operations, queries, subjects
from portal.work.forms import (
    QUEUE,
    CloseForm,
    CompleteForm,
    DueForm,
    NoteForm,
    ReassignForm,
    SnoozeForm,
    WorkFilterForm,
)
from portal.work.models import Task, TaskStatus
from portal.work.operations import WorkError

TASK_STATUS_LABELS = {
    TaskStatus.OPEN: lambda: pgettext("task status", "Open"),
    TaskStatus.DONE: lambda: pgettext("task status", "Done"),
    TaskStatus.CANCELLED: lambda: _("Cancelled (the case closed)"),
}


@bp.app_context_processor
def work_labels() -> dict:
    return {"TOUCHPOINT_ACTION_LABELS": TOUCHPOINT_ACTION_LABELS,
            "CASE_OUTCOME_LABELS": OUTCOME_LABELS}


@bp.app_template_global()
def task_subject(task: Task) -> tuple[str, str] | None:
    """A task that is not a case's: the word for what it is about and its page."""
    return subjects.subject_link(task)


@bp.app_template_global()
def work_resident_cases(resident) -> list[Case]:
    """The resident's open cases the viewer may work (their 360° page)."""
    if not can_work_cases(current_user):
        return []
    return queries.resident_open_cases(resident.id, current_user)


def _page_number() -> int:
    try:
        return min(max(int(request.args.get("page", 1)), 1), 100_000)
    except (TypeError, ValueError):
        return 1


@bp.get("/")
@permission_required(can_work_cases)
def my_work():
    form = WorkFilterForm(request.args)
    wanted = filter_values(form)
    filters = queries.WorkFilters(show=wanted.get("show") or queries.SHOW_ALL,
                                  snoozed=bool(wanted.get("snoozed")))
    today = local_today()
    page = queries.work_page(current_user, filters, today, _page_number())
    record_many("case.list_view", actor=current_user, target_type="residents",
                target_ids=sorted({t.resident_id for t in page.items if t.resident_id}),
                summary="Saw the resident's task in My work", data={"page": page.page})
    return render_and_commit("work/my_work.html", form=form, page=page, filters=filters,
                             today=today,
                             page_args={k: v for k, v in request.args.items() if k != "page"})


# -- the case page ------------------------------------------------------------------------

def _load_case(case_id: int) -> Case:
    """The case, or 404 when it does not exist or is another department's."""
    case = db.session.get(Case, case_id)
    if case is None or not can_work_cases(current_user, case):
        abort(404)
    return case


def _load_task(task_id: int) -> Task:
    """The task, locked until the action commits (PostgreSQL): two submissions of the
    same form run one after the other, and the second finds the task done."""
    task = db.session.get(Task, task_id, with_for_update=True)
    if task is None or not can_work_cases(current_user, task):
        abort(404)
    return task


def _task_forms(task: Task, colleagues: list[User]) -> dict:
    return {"complete": CompleteForm(formdata=None, task_id=task.id),
            "reassign": ReassignForm(formdata=None, task_id=task.id, colleagues=colleagues),
            "snooze": SnoozeForm(formdata=None, task_id=task.id),
            "due": DueForm(formdata=None, task_id=task.id, due_on=task.due_on)}


def _render_case(case: Case, code: int = 200, *, refused_task: int | None = None,
                 refused_form=None, **forms):
    snapshot = queries.version_snapshot(case)
    tasks = queries.case_tasks(case)
    notes = queries.case_notes(case)
    messages = queries.case_messages(case)
    names = describe.step_names(snapshot)
    colleagues = queries.colleagues(case.playbook.department_id, current_user)
    task_forms = {t.id: _task_forms(t, colleagues) for t in tasks
                  if t.status == TaskStatus.OPEN}
    if refused_task in task_forms and refused_form is not None:
        task_forms[refused_task][refused_form.action] = refused_form
    context = {"close_form": CloseForm(formdata=None), "note_form": NoteForm(formdata=None),
               **forms}
    record("case.view", actor=current_user, target=("residents", case.resident_id),
           summary="Viewed the resident's case", data={"case": case.id})
    page = render_template(
        "work/case.html", case=case, snapshot=snapshot, tasks=tasks, notes=notes,
        messages=messages, task_forms=task_forms,
        trigger=describe.trigger_words(case, snapshot),
        score=describe.score_at_open(case, queries.scoring_model_at(case)),
        steps=describe.steps(case, snapshot, tasks, messages, notes, names),
        step_state_label=describe.step_state_label, today=local_today(), now=utcnow(),
        TASK_STATUS_LABELS=TASK_STATUS_LABELS, CASE_STATUS_LABELS=CASE_STATUS_LABELS,
        HELD_OUT_LABEL=HELD_OUT_LABEL, MESSAGE_CHANNEL_LABELS=MESSAGE_CHANNEL_LABELS,
        MESSAGE_STATUS_LABELS=MESSAGE_STATUS_LABELS, SUPPRESSION_LABELS=SUPPRESSION_LABELS,
        event_text=_event_text, playbook_url=_playbook_url(case.playbook), **context)
    db.session.commit()
    return page, code


def _playbook_url(playbook) -> str | None:
    """The playbook's console page, for those who may read it (None until the
    console's page exists)."""
    if not can_view_playbooks(current_user, playbook):
        return None
    try:
        return url_for("playbooks.view", playbook_id=playbook.id)
    except BuildError:
        return None


def _event_text(note) -> str:
    """A case's own log entry in words."""
    data = note.data or {}
    if note.event == "task_done":
        return _("Task completed: %(outcome)s, %(channel)s", outcome=OUTCOME_LABELS.get(
            data.get("outcome"), _("unknown")), channel=USAGE_CHANNEL_LABELS.get(
            data.get("channel"), _("unknown")))
    if note.event == "reassigned":
        if not data.get("to"):
            return _("Task put back in the department's queue")
        user = db.session.get(User, data["to"])
        return _("Task reassigned to %(name)s",
                 name=user.display_name if user else _("a former member of staff"))
    if note.event == "snoozed":
        return _("Task snoozed until %(date)s", date=data.get("until", ""))
    if note.event == "due_changed":
        return _("Due date moved from %(before)s to %(after)s", before=data.get("from", ""),
                 after=data.get("to", ""))
    if note.event == "closed":
        return _("Case closed: %(outcome)s", outcome=OUTCOME_LABELS.get(
            data.get("outcome"), _("unknown")))
    if note.event == "step":
        return _("Step %(n)s ran", n=(data.get("step") or 0) + 1)
    if note.event == "wait_stopped":
        return _("The trigger had cleared: the steps after the wait did not run")
    if note.event == "opened" or note.event == "started":
        return _("Case opened")
    return _("Recorded")


@bp.get("/cases/<int:case_id>")
@permission_required(can_work_cases)
def case(case_id: int):
    return _render_case(_load_case(case_id))


def _refused(case_id: int | None, message: str, **forms):
    db.session.rollback()
    flash(message, "error")
    if case_id is None:  # a task without a case: back to the list
        return redirect(url_for("work.my_work"))
    return _render_case(_load_case(case_id), 400, **forms)


def _form_message(form) -> str:
    return str(next((errors[0] for errors in form.errors.values()), None)
               or _("The form had expired. Please try again."))


def _done(task_or_case, message: str):
    db.session.commit()
    flash(message, "success")
    case_id = task_or_case.id if isinstance(task_or_case, Case) else task_or_case.case_id
    if case_id is None:
        return redirect(url_for("work.my_work"))
    return redirect(url_for("work.case", case_id=case_id))


def _task_action(task_id: int, form_class, act, message, **form_kwargs):
    """Load the task (404 for another department's), check the form, act."""
    task = _load_task(task_id)
    case_id = task.case_id
    form = form_class(task_id=task.id, **form_kwargs)
    refused = {"refused_task": task.id, "refused_form": form}
    if not form.validate_on_submit():
        return _refused(case_id, _form_message(form), **refused)
    try:
        result = act(task, form)
    except WorkError as error:
        return _refused(case_id, str(error), **refused)
    return _done(task, message(result))


@bp.post("/tasks/<int:task_id>/complete")
@permission_required(can_work_cases)
def complete(task_id: int):
    return _task_action(
        task_id, CompleteForm,
        lambda task, form: operations.complete_task(
            task, actor=current_user, outcome=form.outcome.data, channel=form.channel.data,
            note=form.note.data),
        lambda task: _("The task “%(title)s” is done.", title=task.title))


@bp.post("/tasks/<int:task_id>/reassign")
@permission_required(can_work_cases)
def reassign(task_id: int):
    task = _load_task(task_id)
    colleagues = queries.colleagues(task.department_id, current_user)

    def act(task, form):
        to = None
        if form.assignee.data != QUEUE:
            to = next((u for u in colleagues if str(u.id) == form.assignee.data), None)
            if to is None:
                raise WorkError(_("Choose an active colleague of the task's department."))
        return operations.reassign_task(task, actor=current_user, to=to,
                                        with_others=form.with_others.data)

    def message(moved):
        who = moved[0].assignee.display_name if moved[0].assignee else _(
            "the department's queue")
        return ngettext("%(num)d task given to %(name)s.", "%(num)d tasks given to %(name)s.",
                        len(moved), name=who)

    return _task_action(task_id, ReassignForm, act, message, colleagues=colleagues)


@bp.post("/tasks/<int:task_id>/snooze")
@permission_required(can_work_cases)
def snooze(task_id: int):
    return _task_action(
        task_id, SnoozeForm,
        lambda task, form: operations.snooze_task(task, actor=current_user,
                                                  until=form.until.data),
        lambda task: _("The task is snoozed until %(date)s: it is hidden from My work "
                       "until then.", date=task.snoozed_until.isoformat()))


@bp.post("/tasks/<int:task_id>/due")
@permission_required(can_work_cases)
def due(task_id: int):
    return _task_action(
        task_id, DueForm,
        lambda task, form: operations.change_due(task, actor=current_user,
                                                 due_on=form.due_on.data,
                                                 shift_others=form.shift_others.data),
        lambda changed: ngettext(
            "The due date was changed, and %(num)d other task moved with it.",
            "The due date was changed, and %(num)d other tasks moved with it.",
            len(changed) - 1) if len(changed) > 1 else _("The due date was changed."))


@bp.post("/cases/<int:case_id>/close")
@permission_required(can_work_cases)
def close(case_id: int):
    case = _load_case(case_id)
    form = CloseForm()
    if not form.validate_on_submit():
        return _refused(case_id, _form_message(form), close_form=form)
    try:
        operations.close_case(case, actor=current_user, outcome=form.outcome.data,
                              note=form.note.data, channel=form.channel.data)
    except WorkError as error:
        return _refused(case_id, str(error), close_form=form)
    return _done(case, _("The case is closed: %(outcome)s.",
                         outcome=OUTCOME_LABELS[case.outcome]))


@bp.post("/cases/<int:case_id>/note")
@permission_required(can_work_cases)
def note(case_id: int):
    case = _load_case(case_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return _refused(case_id, _form_message(form), note_form=form)
    try:
        operations.add_case_note(case, actor=current_user, body=form.body.data)
    except WorkError as error:
        return _refused(case_id, str(error), note_form=form)
    return _done(case, _("The note was added."))

