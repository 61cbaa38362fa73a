"""Console forms for inquiries: the queue's filters, the inquiry page's actions
(each with its own id prefix: they share one page) and recording an inquiry
taken by phone, at the counter, by letter or by e-mail."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    EmailField,
    HiddenField,
    SearchField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.forms import Form, LocaleField, options
from portal.inquiries.labels import CATEGORY_LABELS, CHANNEL_LABELS, SLA_LABELS, STATUS_LABELS
from portal.inquiries.models import InquiryChannel, InquiryStatus
from portal.inquiries.queue import ALL, PENDING, UNROUTED
from portal.inquiries.sla import SlaState

ANY = _l("Any")

SORT_LABELS = {
    "due": _l("Due soonest first"),
    "-due": _l("Due latest first"),
    "created": _l("Oldest first"),
    "-created": _l("Newest first"),
    "updated": _l("Least recently updated first"),
    "-updated": _l("Most recently updated first"),
}


class QueueFilterForm(Form):
    """The queue's filters (GET). A value that is not one of the choices is
    reported on its field and ignored; the other filters still apply."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search subject, text or number"),
                    validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Status"), default=PENDING, validators=[Optional()])
    sla = SelectField(_l("Service level"), validators=[Optional()])
    channel = SelectField(_l("Channel"), validators=[Optional()])
    category = SelectField(_l("Kind"), validators=[Optional()])
    service = SelectField(_l("Service"), validators=[Optional()])
    assignee = SelectField(_l("Assigned to"), validators=[Optional()])
    department = SelectField(_l("Department"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), default="due", validators=[Optional()])

    def __init__(self, *args, services=(), assignees=(), departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = options([
            (PENDING, _l("To be worked on (new, open, waiting)")),
            *STATUS_LABELS.items(), (ALL, _l("All statuses"))])
        self.sla.choices = options([("", ANY), *((k, v) for k, v in SLA_LABELS.items()
                                                 if k != SlaState.NONE)])
        self.channel.choices = options([("", ANY), *CHANNEL_LABELS.items()])
        self.category.choices = options([("", ANY), *CATEGORY_LABELS.items()])
        self.service.choices = options([("", ANY), *((s.slug, s.name) for s in services)])
        self.assignee.choices = options([
            ("", ANY), ("me", _l("Me")), ("none", _l("Nobody")),
            *((str(u.id), u.display_name) for u in assignees)])
        if departments is None:
            del self.department
        else:
            self.department.choices = options([
                ("", _l("All departments")), (UNROUTED, _l("Not routed yet")),
                *((d.code, d.name) for d in departments)])
        self.sort.choices = options(SORT_LABELS.items())


class ReplyForm(Form):
    id_prefix = "reply"

    template = SelectField(_l("Reply template"), validators=[Optional()], validate_choice=False)
    use_template = SubmitField(_l("Use template"))
    body = TextAreaField(_l("Reply to the resident"), render_kw={"rows": 8},
                         description=_l("The resident sees this reply and gets it by e-mail."))
    status = SelectField(_l("Then set the status to"), default=InquiryStatus.WAITING,
                         validate_choice=False)
    submit = SubmitField(_l("Send reply"))

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.template.choices = options([("", _l("(choose a template)")),
                                         *((str(t.id), t.name) for t in templates)])
        self.status.choices = options([
            (s, STATUS_LABELS[s]) for s in (InquiryStatus.WAITING, InquiryStatus.RESOLVED,
                                            InquiryStatus.OPEN)])


class NoteForm(Form):
    id_prefix = "note"

    body = TextAreaField(_l("Internal note"), render_kw={"rows": 4},
                         description=_l("Only staff see notes; the resident never does."))
    submit = SubmitField(_l("Add note"))


class AssignForm(Form):
    id_prefix = "assign"

    assignee = SelectField(_l("Assign to"), validate_choice=False)
    submit = SubmitField(_l("Assign"))

    def __init__(self, *args, colleagues=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.assignee.choices = options([("", _l("Nobody")),
                                         *((str(u.id), u.display_name) for u in colleagues)])


class TakeForm(Form):
    """"Take it": assign the inquiry to oneself."""

    id_prefix = "take"

    take = HiddenField(default="1")
    submit = SubmitField(_l("Take it"))


class StatusForm(Form):
    id_prefix = "status"

    status = SelectField(_l("Status"), validate_choice=False)
    submit = SubmitField(_l("Change status"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = options(STATUS_LABELS.items())


class RouteForm(Form):
    id_prefix = "route"

    service = SelectField(_l("Move to the service"), validate_choice=False,
                          description=_l("The inquiry moves to that service's department "
                                         "queue; its due times are worked out again."))
    submit = SubmitField(_l("Route"))

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.service.choices = options([("", _l("(choose a service)")), *(
            (str(s.id), _("%(service)s — %(department)s", service=s.name,
                          department=s.department.name)) for s in services)])


class MergeForm(Form):
    id_prefix = "merge"

    other = StringField(_l("Number of the inquiry it duplicates"),
                        validators=[Length(max=40)],
                        description=_l("This inquiry is closed and the resident is told to "
                                       "follow the other one."))
    submit = SubmitField(_l("Merge as duplicate"))


class RecordForm(Form):
    """An inquiry staff took down (channel parity), for a resident or a caller."""

    id_prefix = "record"

    resident = HiddenField()
    channel = SelectField(_l("Received by"), validate_choice=False)
    service = SelectField(_l("Service"), validate_choice=False)
    category = SelectField(_l("Kind"), validate_choice=False)
    subject = StringField(_l("Subject"), validators=[
        DataRequired(message=_l("Give the inquiry a subject.")), Length(max=200)])
    description = TextAreaField(_l("What the resident asked or reported"),
                                render_kw={"rows": 8})
    address = StringField(_l("Address or place (optional)"),
                          validators=[Optional(), Length(max=300)])
    caller_name = StringField(_l("Caller's name (optional)"),
                              validators=[Optional(), Length(max=160)])
    caller_phone = TelField(_l("Caller's phone (optional)"),
                            validators=[Optional(), Length(max=40)])
    caller_email = EmailField(_l("Caller's e-mail (optional)"),
                              validators=[Optional(), Length(max=254), Email(
                                  message=_l("Enter an e-mail address such as "
                                             "name@example.jp."))],
                              description=_l("Replies are e-mailed here when given."))
    locale = LocaleField(_l("Language for replies"), validate_choice=False)
    submit = SubmitField(_l("Record the inquiry"))

    def __init__(self, *args, services=(), unrouted_label=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = options(
            (c, CHANNEL_LABELS[c]) for c in InquiryChannel.staff_recorded())
        self.service.choices = options([("", unrouted_label or _l("I don't know (route later)")),
                                        *((str(s.id), s.name) for s in services)])
        self.category.choices = options(CATEGORY_LABELS.items())
