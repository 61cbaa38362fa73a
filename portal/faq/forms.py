"""Forms of the FAQ: the public search, the console's entry editor, its review and
list filters, and the search's synonym groups."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from portal.extensions import db
from portal.faq.labels import REVIEW_FILTER_LABELS
from portal.faq.operations import ANSWER_MAX, NOTE_MAX, QUESTION_MAX
from portal.forms import Form, YearRange, options
from portal.i18n_fields import localized
from portal.services.forms import MultiCheckboxField
from portal.services.models import Department, Service


def _departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.code)))


def _services() -> list[Service]:
    return list(db.session.scalars(select(Service).order_by(Service.department_id,
                                                            Service.slug)))


class SearchForm(Form):
    """GET /faq/?q=…"""

    class Meta:
        csrf = False

    q = SearchField(_l("Search the FAQ"), validators=[Optional(), Length(max=200)])


class EntryForm(Form):
    id_prefix = "faq"

    question_ja = StringField(_l("Question in Japanese"),
                              validators=[Length(max=QUESTION_MAX)])
    answer_ja = TextAreaField(_l("Answer in Japanese"), validators=[Length(max=ANSWER_MAX)],
                              render_kw={"rows": 10},
                              description=_l("Markdown: paragraphs, lists, links, emphasis."))
    draft_ja = BooleanField(_l("The Japanese is a draft (shown as “translation under "
                               "review”)"))
    question_en = StringField(_l("Question in English"),
                              validators=[Length(max=QUESTION_MAX)])
    answer_en = TextAreaField(_l("Answer in English"), validators=[Length(max=ANSWER_MAX)],
                              render_kw={"rows": 10},
                              description=_l("Markdown: paragraphs, lists, links, emphasis."))
    draft_en = BooleanField(_l("The English is a draft (shown as “translation under "
                               "review”)"))
    department_id = SelectField(_l("Owner department"), coerce=int,
                                description=_l("Its staff keep the entry current."))
    service_ids = MultiCheckboxField(_l("Services"), coerce=int,
                                     description=_l("The entry is listed under these "
                                                    "services and on their pages."))
    review_on = DateField(_l("Review date"), validators=[Optional(), YearRange()],
                          description=_l("The department gets a task on this day to check "
                                         "the entry. Empty: in 12 months."))
    note = TextAreaField(_l("Change note (optional)"), validators=[Length(max=NOTE_MAX)],
                         render_kw={"rows": 2},
                         description=_l("What changed and why: kept with the version."))
    from_post = HiddenField()

    def __init__(self, *args, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        departments = departments if departments is not None else _departments()
        self.department_id.choices = options(
            [(0, _l("Choose the department"))] + [(d.id, localized(d, "name"))
                                                   for d in departments])
        self.service_ids.choices = options((s.id, localized(s, "name")) for s in _services())


class ReviewForm(Form):
    id_prefix = "review"

    review_on = DateField(_l("Next review date"), validators=[Optional(), YearRange()],
                          description=_l("Empty: in 12 months."))
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=NOTE_MAX)],
                         render_kw={"rows": 2})


class ListFilterForm(Form):
    """GET /admin/faq/?department=…&service=…&review=…"""

    class Meta:
        csrf = False

    department = SelectField(_l("Department"), validators=[Optional()])
    service = SelectField(_l("Service"), validators=[Optional()])
    review = SelectField(_l("Show"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = options(
            [("", _l("All departments"))] + [(d.code, localized(d, "name"))
                                             for d in _departments()])
        self.service.choices = options(
            [("", _l("All services"))] + [(s.slug, localized(s, "name"))
                                          for s in _services()])
        self.review.choices = options(REVIEW_FILTER_LABELS.items())


class SynonymForm(Form):
    id_prefix = "synonyms"

    terms = TextAreaField(_l("Terms"), render_kw={"rows": 6},
                          description=_l("One term per line: a search for any of them also "
                                         "finds the others."))
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=NOTE_MAX)],
                         render_kw={"rows": 2})
