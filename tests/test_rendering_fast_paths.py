"""The console's rendering shortcuts give exactly what the libraries they bypass give."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale, format_date, format_decimal, format_time, gettext
from wtforms.fields.choices import Choice
from wtforms.widgets import Select

from portal.engagement.explain import band_badge, trend_word
from portal.forms import PlainOptionsSelect
from portal.i18n import _date, _datetime, _number

CHOICES = [
    Choice("a", "A", selected=True, render_kw=None),
    Choice("", "— all —", selected=False, render_kw=None),
    Choice(3, '<b>"x"</b>', selected=False, render_kw=None),
    Choice(True, None, selected=True, render_kw=None),
    Choice('a"b&<', "é", selected=False, render_kw=None),
    Choice("x", "X", selected=False, render_kw={"disabled": True}),
]


@pytest.mark.parametrize("choice", CHOICES)
def test_plain_option_is_wtforms_option(choice):
    assert PlainOptionsSelect.render_option(choice) == Select.render_option(choice)


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_filters_match_flask_babel(app, locale):
    moment = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 08:30 on the 2nd in Tokyo
    with app.test_request_context(), force_locale(locale):
        assert _number(1234567.891, "0.#") == format_decimal(1234567.891, "#,##0.#")
        assert _number(1234567) == format_decimal(1234567)
        assert _date(moment) == format_date(moment, "medium")
        assert _date(date(2026, 1, 5)) == format_date(date(2026, 1, 5), "medium")
        assert format_time(moment, "short") in _datetime(moment)
        assert format_date(moment, "medium") in _datetime(moment)


def test_template_gettext_follows_force_locale(app):
    """The page's catalogue, and the e-mail's inside ``force_locale``."""
    template = app.jinja_env.from_string('{{ _("Residents") }}|{{ band_badge("red") }}')
    with app.test_request_context():
        with force_locale("ja"):
            ja = template.render()
            assert ja.split("|")[0] == gettext("Residents")
        with force_locale("en"):
            en = template.render()
    assert ja != en
    assert en == 'Residents|<span class="badge badge--bad">Red</span>'


def test_badges_escape_and_name_the_trend(app):
    with app.test_request_context(), force_locale("en"):
        assert str(trend_word("down")) == '<span class="trend trend--down">↓ falling</span>'
        assert "badge--ok" in band_badge("green")
