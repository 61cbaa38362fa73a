"""The search page's form (a GET form: it changes nothing)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import select
from wtforms import SearchField, SelectField
from wtforms.validators import Length, Optional

from portal.extensions import db
from portal.forms import Form, options
from portal.search.query import MAX_QUERY_CHARS
from portal.services.models import Service

#: the kind filter: what each choice searches
KIND_CHOICES = {
    "": ("question", "answer", "faq"),
    "question": ("question",),
    "answer": ("answer",),
    "faq": ("faq",),
}


class SearchForm(Form):
    class Meta:
        csrf = False

    q = SearchField(_l("Search questions, answers and the FAQ"),
                    validators=[Optional(), Length(
                        max=MAX_QUERY_CHARS,
                        message=_l("Use at most %(max)d characters.", max=MAX_QUERY_CHARS))])
    kind = SelectField(_l("Show"), validators=[Optional()], choices=options([
        ("", _l("Everything")), ("question", lazy_pgettext("search", "Questions")),
        ("answer", lazy_pgettext("search", "Answers")),
        ("faq", _l("FAQ entries"))]))
    service = SelectField(_l("Service"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        services = db.session.scalars(
            select(Service).where(Service.active.is_(True)).order_by(Service.slug)).all()
        self.services = {s.slug: s for s in services}
        self.service.choices = options([("", _l("All services")),
                                        *((s.slug, s.name) for s in services)])
