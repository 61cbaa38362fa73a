"""Forms of My work and the case page. A case page shows the forms of each of its
open tasks: their ids carry the task (``complete-12-outcome``), so no two fields on
the page share an id while the posted names stay plain."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import BooleanField, DateField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import Form, YearRange, options
from portal.outreach.labels import TOUCHPOINT_CHANNELS
from portal.playbooks.labels import OUTCOME_LABELS
from portal.playbooks.models import Outcome
from portal.services.usage import CHANNEL_LABELS
from portal.work.operations import NOTE_MAX
from portal.work.queries import SHOW_ALL, SHOW_MINE, SHOW_QUEUE

NOTE_LABEL = lazy_pgettext("case note", "Note")
QUEUE = "queue"  # the reassign form's value for "back to the department's queue"


def outcome_choices():
    return options([("", _l("Choose an outcome")),
                    *((o.value, OUTCOME_LABELS[o]) for o in Outcome.chosen_by_staff())])


def channel_choices(first):
    return options([("", first), *((c, CHANNEL_LABELS[c]) for c in TOUCHPOINT_CHANNELS)])


class TaskForm(Form):
    """A form about one task: ``task_id`` goes into every field's id."""

    action = ""

    def __init__(self, *args, task_id: int | str = "", **kwargs):
        self.id_prefix = f"{self.action}-{task_id}" if task_id else self.action
        super().__init__(*args, **kwargs)


class CompleteForm(TaskForm):
    action = "complete"
    outcome = SelectField(_l("Outcome"), validators=[DataRequired(
        message=_l("Choose an outcome from the list."))])
    channel = SelectField(_l("How the resident was reached"), validators=[DataRequired(
        message=_l("Choose how the resident was reached."))])
    note = TextAreaField(NOTE_LABEL, validators=[Optional(), Length(max=NOTE_MAX)])
    submit = SubmitField(_l("Complete the task"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcome.choices = outcome_choices()
        self.channel.choices = channel_choices(_l("Choose a channel"))


class ReassignForm(TaskForm):
    action = "reassign"
    assignee = SelectField(_l("Give it to"), validators=[DataRequired(
        message=_l("Choose a colleague or the department's queue."))])
    with_others = BooleanField(_l("Also the case's other open tasks"))
    submit = SubmitField(_l("Reassign"))

    def __init__(self, *args, colleagues=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.assignee.choices = options([
            ("", _l("Choose a colleague")), (QUEUE, _l("The department's queue")),
            *((str(u.id), u.display_name) for u in colleagues)])


class SnoozeForm(TaskForm):
    action = "snooze"
    until = DateField(_l("Snooze until"), description=_l("After today, at most 90 days ahead."),
                      validators=[DataRequired(message=_l("Enter the day the task should come "
                                                          "back.")), YearRange()])
    submit = SubmitField(_l("Snooze"))


class DueForm(TaskForm):
    action = "due"
    due_on = DateField(_l("New due date"), validators=[DataRequired(
        message=_l("Enter the new due date.")), YearRange()])
    shift_others = BooleanField(_l("Move the case's other open tasks by the same number of "
                                   "days"))
    submit = SubmitField(_l("Change the due date"))


class CloseForm(Form):
    id_prefix = "close"
    outcome = SelectField(_l("Outcome"), validators=[DataRequired(
        message=_l("Choose an outcome from the list."))])
    channel = SelectField(_l("How the resident was reached"), validators=[Optional()])
    note = TextAreaField(NOTE_LABEL, validators=[Optional(), Length(max=NOTE_MAX)])
    submit = SubmitField(_l("Close the case"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcome.choices = outcome_choices()
        self.channel.choices = channel_choices(_l("Not in contact"))


class NoteForm(Form):
    id_prefix = "note"
    body = TextAreaField(NOTE_LABEL, validators=[DataRequired(message=_l(
        "Write the note first.")), Length(max=NOTE_MAX)])
    submit = SubmitField(_l("Add the note"))


class WorkFilterForm(Form):
    """My work's filters (GET)."""

    class Meta:
        csrf = False

    show = SelectField(_l("Show"), default=SHOW_ALL, validators=[Optional()])
    snoozed = BooleanField(_l("Show snoozed tasks"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.show.choices = options([
            (SHOW_ALL, _l("Mine and my queue")), (SHOW_MINE, _l("Assigned to me")),
            (SHOW_QUEUE, _l("The queue (not assigned yet)"))])
