"""Forms of moderation: the report (flag) form under each post, the moderators'
decisions in the queue, silencing and topics. Forms about one post carry its id in
their fields' ids (``flag-12-reason``), so a page of posts has no duplicate ids
while the posted names stay plain."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.community.moderation import NOTE_MAX, REASON_MAX, SILENCE_MAX_DAYS
from portal.community.moderation_labels import FLAG_REASON_LABELS
from portal.forms import Form

AUTHOR_SEES = _l("The author sees this reason with their post.")


class PostForm(Form):
    """A form about one post: ``post_id`` goes into every field's id."""

    action = ""

    def __init__(self, *args, post_id: int | str = "", **kwargs):
        self.id_prefix = f"{self.action}-{post_id}" if post_id else self.action
        super().__init__(*args, **kwargs)


class FlagForm(PostForm):
    action = "flag"
    reason = RadioField(_l("Why are you reporting this post?"), validators=[DataRequired(
        message=_l("Choose why you are reporting this post."))])
    note = TextAreaField(_l("Anything the moderators should know (optional)"),
                         validators=[Optional(), Length(max=NOTE_MAX)])
    submit = SubmitField(_l("Send the report"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reason.choices = [(code.value, label) for code, label in
                               FLAG_REASON_LABELS.items()]


class ApproveForm(PostForm):
    action = "approve"
    submit = SubmitField(_l("Approve and publish"))


class RestoreForm(PostForm):
    action = "restore"
    reason = TextAreaField(_l("Note for the record (optional)"),
                           validators=[Optional(), Length(max=REASON_MAX)])
    submit = SubmitField(_l("Restore"))


class HideForm(PostForm):
    action = "hide"
    reason = TextAreaField(_l("Reason for hiding"), description=AUTHOR_SEES, validators=[
        DataRequired(message=_l("Give a reason: the author sees it with their post.")),
        Length(max=REASON_MAX)])
    submit = SubmitField(_l("Hide"))


class DeleteForm(PostForm):
    action = "delete"
    reason = TextAreaField(_l("Reason for deleting"), description=AUTHOR_SEES, validators=[
        DataRequired(message=_l("Give a reason: the author sees it with their post.")),
        Length(max=REASON_MAX)])
    submit = SubmitField(_l("Delete"))


class SilenceForm(Form):
    id_prefix = "silence"
    days = IntegerField(_l("Days"), validators=[
        InputRequired(message=_l("Enter a number of days from 1 to 365.")),
        NumberRange(min=1, max=SILENCE_MAX_DAYS,
                    message=_l("Enter a number of days from 1 to 365."))])
    reason = TextAreaField(_l("Reason"),
                           description=_l("The member sees this reason when they try to post."),
                           validators=[DataRequired(message=_l(
                               "Give a reason: the member sees it when they try to post.")),
                               Length(max=REASON_MAX)])
    submit = SubmitField(_l("Silence"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.days.data is None and not self.is_submitted():
            self.days.data = current_app.config["COMMUNITY_SILENCE_DAYS"]


class UnsilenceForm(Form):
    id_prefix = "unsilence"
    submit = SubmitField(_l("Lift the silence"))


class TopicForm(Form):
    slug = StringField(_l("Short name (in web addresses)"),
                       description=_l("Lower-case letters, digits and hyphens, for example "
                                      "“moving-house”."),
                       validators=[DataRequired(message=_l("Enter a short name.")),
                                   Length(max=60)])
    name_ja = StringField(_l("Name in Japanese"), validators=[Optional(), Length(max=80)])
    name_en = StringField(_l("Name in English"), validators=[Optional(), Length(max=80)])
    active = BooleanField(_l("Active (residents can tag questions with it)"), default=True)
    submit = SubmitField(_l("Save the topic"))
