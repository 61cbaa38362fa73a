"""The residents' community forms: ask, answer, edit, vote, and the community name."""

from __future__ import annotations

import secrets

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.community.models import Topic
from portal.community.posting import NAME_MAX, NAME_MIN, TITLE_MAX
from portal.extensions import db
from portal.forms import Form, LocaleField, options
from portal.i18n_fields import current_locale, localized
from portal.services.forms import MultiCheckboxField
from portal.services.models import Department, Service

BODY_HINT = _l("Markdown: a blank line starts a paragraph; - or 1. start a list; *italic*, "
               "**bold**, [text](https://…) for a link. HTML and images are not shown.")


def new_submission_key() -> str:
    return secrets.token_urlsafe(24)


def _max_body(form, field) -> None:
    limit = current_app.config["COMMUNITY_POST_MAX_CHARS"]
    if len(field.data or "") > limit:
        raise ValidationError(_("The text has %(n)s characters; at most %(max)s are allowed. "
                                "Please shorten it.", n=len(field.data), max=limit))


class _KeyedForm(Form):
    # a one-time key per form shown: the same form sent twice stores one post
    submission_key = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.submission_key.data:
            self.submission_key.data = new_submission_key()


def tag_services() -> list[Service]:
    return list(db.session.scalars(
        select(Service).join(Department, Department.id == Service.department_id)
        .where(Service.active.is_(True)).order_by(Department.code, Service.slug)))


def tag_topics() -> list[Topic]:
    return list(db.session.scalars(select(Topic).where(Topic.active.is_(True))
                                   .order_by(Topic.slug)))


class AskForm(_KeyedForm):
    id_prefix = "ask"

    title = StringField(_l("Title"), validators=[
        DataRequired(message=_l("Enter a title for your question.")),
        Length(max=TITLE_MAX, message=_l("At most %(max)d characters."))],
        description=_l("One sentence: what do you want to know?"))
    body = TextAreaField(_l("Your question"), validators=[
        DataRequired(message=_l("Describe your question.")), _max_body],
        description=BODY_HINT)
    services = MultiCheckboxField(_l("Services"), validators=[Optional()])
    topics = MultiCheckboxField(_l("Topics"), validators=[Optional()])
    lang = LocaleField(_l("Language of your question"))
    check = SubmitField(_l("Check for similar questions"))
    submit = SubmitField(_l("Post your question"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._services = {s.slug: s for s in tag_services()}
        self._topics = {t.slug: t for t in tag_topics()}
        self.services.choices = options((slug, localized(s, "name"))
                                        for slug, s in self._services.items())
        self.topics.choices = options((slug, t.name) for slug, t in self._topics.items())
        if not self.lang.data:
            self.lang.data = current_locale()

    def validate_services(self, field):
        if not (field.data or []) and not (self.topics.data or []):
            raise ValidationError(_("Choose at least one tag: a service or a topic."))

    def chosen_services(self) -> list[Service]:
        return [self._services[slug] for slug in self.services.data or []
                if slug in self._services]

    def chosen_topics(self) -> list[Topic]:
        return [self._topics[slug] for slug in self.topics.data or [] if slug in self._topics]


class AnswerForm(_KeyedForm):
    id_prefix = "answer"

    body = TextAreaField(_l("Your answer"), validators=[
        DataRequired(message=_l("Write your answer.")), _max_body], description=BODY_HINT)
    submit = SubmitField(_l("Post your answer"))


class EditForm(Form):
    id_prefix = "edit"

    title = StringField(_l("Title"), validators=[
        Optional(), Length(max=TITLE_MAX, message=_l("At most %(max)d characters."))])
    body = TextAreaField(_l("Text"), validators=[
        DataRequired(message=_l("Write something before saving.")), _max_body],
        description=BODY_HINT)
    submit = SubmitField(_l("Save changes"))


class CommunityNameForm(Form):
    id_prefix = "name"

    public_name = StringField(_l("Community name"), validators=[
        Optional(), Length(min=NAME_MIN, max=NAME_MAX,
                           message=_l("%(min)d to %(max)d characters."))],
        description=_l("Shown on your questions and answers. Leave it empty to be shown "
                       "with a neutral name."))
    show_own_name = BooleanField(_l("Show my own name instead"),
                                 description=_l("Your questions and answers then show the "
                                                "name of your account."))
    submit = SubmitField(_l("Save community name"))
