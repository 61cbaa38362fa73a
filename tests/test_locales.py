"""Languages are configuration: a third locale is a catalogue plus a setting.

The test writes a small Korean catalogue into a temporary folder, compiles it with
Babel, and starts the app with ``PORTAL_LOCALES=ja,en,ko`` and
``PORTAL_TRANSLATION_DIRECTORIES`` pointing at it — no code changes. Korean then
appears in the language switch, can be chosen (cookie, Accept-Language, the
locale pickers), translates the interface, and staff-written content that has no
Korean version falls back to the default language.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po
from flask_babel import force_locale

from portal.app import create_app
from portal.config import ConfigError, load_config
from portal.i18n import _date, _datetime, _number, change_phrase, language_name
from portal.i18n_fields import localized, localized_pair
from tests import factories
from tests.conftest import RequestClient

KOREAN = {
    "Sign in": "로그인",
    "City services": "시 서비스",
    "Language": "언어",
    "Resident portal": "주민 포털",
}


def korean_catalogue(folder) -> None:
    catalog = Catalog(locale="ko", domain="messages")
    for source, text in KOREAN.items():
        catalog.add(source, text)
    target = folder / "ko" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.po", "wb") as handle:
        write_po(handle, catalog)
    with open(target / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)


@pytest.fixture
def korean_app(app, tmp_path, monkeypatch):
    korean_catalogue(tmp_path / "translations")
    monkeypatch.setenv("PORTAL_LOCALES", "ja,en,ko")
    monkeypatch.setenv("PORTAL_TRANSLATION_DIRECTORIES", str(tmp_path / "translations"))
    monkeypatch.setenv("PORTAL_MUNICIPALITY_NAME_KO", "사쿠라가와시")
    third = create_app("testing", {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": str(tmp_path / "instance"),
    })
    third.test_client_class = RequestClient
    return third


def test_a_third_locale_is_in_the_switch_and_can_be_chosen(korean_app, catalogue):
    client = korean_app.test_client()
    home = client.get("/").get_data(as_text=True)
    assert 'lang="ko"' in home and "한국어" in home  # named in itself, by Babel
    response = client.post("/language", data={"locale": "ko", "next": "/services/"})
    assert "portal_locale=ko" in response.headers["Set-Cookie"]
    page = client.get("/services/").get_data(as_text=True)
    assert '<html lang="ko">' in page
    assert "로그인" in page and "시 서비스" in page  # the interface from the new catalogue
    assert "사쿠라가와시 · 주민 포털" in page  # the municipality's name, configured per locale
    # a service has no Korean text: its name falls back to the default language
    loans = factories.service("library-loans")
    assert loans.name_ja in page and loans.name_en not in page
    assert "Sign out" not in page and "ログイン" not in page


def test_a_third_locale_is_followed_from_accept_language_and_offered_in_forms(korean_app):
    client = korean_app.test_client()
    page = client.get("/account/register", headers={"Accept-Language": "ko, en;q=0.5"})
    html = page.get_data(as_text=True)
    assert '<html lang="ko">' in html
    picker = html.split('name="locale"', 1)[1].split("</select>", 1)[0]
    assert 'value="ko"' in picker and "한국어" in picker  # the account's language picker
    assert client.post("/language", data={"locale": "vi", "next": "/"}).headers.get(
        "Set-Cookie") is None  # not configured: refused


def test_staff_content_falls_back_to_the_default_locale_first(korean_app, catalogue):
    loans = factories.service("library-loans")
    with korean_app.test_request_context():
        assert localized(loans, "name", "ko") == loans.name_ja
        assert localized_pair(loans, "summary", "ko") == (loans.summary_ja, "ja")
        korean_app.config["DEFAULT_LOCALE"] = "en"
        assert localized(loans, "name", "ko") == loans.name_en
        loans.name_en = ""
        assert localized(loans, "name", "ko") == loans.name_ja  # then the other ones
        korean_app.config["DEFAULT_LOCALE"] = "ja"


def test_dates_and_numbers_follow_the_third_locale(korean_app):
    with korean_app.test_request_context(headers={"Accept-Language": "ko"}):
        assert _date(date(2026, 12, 2)) == "2026. 12. 2."
        assert "2026. 12. 2." in _datetime(datetime(2026, 12, 2, 0, 5, tzinfo=UTC))
        assert _number(1234567) == "1,234,567"


def test_the_locale_settings_are_checked(monkeypatch):
    monkeypatch.setenv("PORTAL_LOCALES", "ja,en")
    monkeypatch.setenv("PORTAL_DEFAULT_LOCALE", "ko")
    with pytest.raises(ConfigError, match="PORTAL_DEFAULT_LOCALE"):
        load_config("testing")
    monkeypatch.setenv("PORTAL_DEFAULT_LOCALE", "ja")
    monkeypatch.setenv("PORTAL_LANGUAGE_NAMES", "ja_x=やさしい日本語;broken")
    with pytest.raises(ConfigError, match="PORTAL_LANGUAGE_NAMES"):
        load_config("testing")
    monkeypatch.setenv("PORTAL_LANGUAGE_NAMES", "ja_x=やさしい日本語")
    assert load_config("testing")["LANGUAGE_NAMES"] == {"ja_x": "やさしい日本語"}
    assert language_name("ja_x", {"ja_x": "やさしい日本語"}) == "やさしい日本語"
    assert language_name("vi") == "Tiếng Việt"


# ---- one date format per locale, thousands separators, changes in words --------

def test_one_date_format_per_locale_with_four_digit_years(app):
    moment = datetime(2026, 4, 1, 15, 30, tzinfo=UTC)  # 00:30 on 2 April in Tokyo
    with app.test_request_context(), force_locale("ja"):
        assert _date(moment) == _date(moment, "short") == "2026/04/02"
        assert _datetime(moment) == _datetime(moment, "short") == "2026/04/02 0:30"
    with app.test_request_context(), force_locale("en"):
        assert _date(moment) == _date(moment, "short") == "Apr 2, 2026"
        assert _datetime(moment, "short") == "Apr 2, 2026, 12:30\u202fAM"


def test_numbers_carry_thousands_separators(app):
    with app.test_request_context(), force_locale("ja"):
        assert _number(12345) == "12,345"
        assert _number(12345.67, "0") == "12,346"
        assert _number(1234.5, "0.#") == "1,234.5"
        assert _number(None) == ""


def test_changes_read_naturally_and_say_whether_they_are_good(app):
    with app.test_request_context(), force_locale("ja"):
        assert change_phrase(-14, unit="residents") == "前月比 −14人"
        assert change_phrase(-14, unit="residents", better="up") == "前月比 −14人（悪化）"
        assert change_phrase(-14, unit="residents", better="down") == "前月比 −14人（改善）"
        assert change_phrase(2.5, unit="points", better="up") == "前月比 +2.5ポイント（改善）"
        assert change_phrase(1200, unit="residents") == "前月比 +1,200人"
        assert change_phrase(0, unit="residents", better="up") == "前月比 ±0人（変化なし）"
        assert change_phrase(None) == "1か月前のデータなし"
        assert change_phrase(-2, unit="percent", better="up", against="period") == \
            "前期比 −2ポイント（悪化）"
        assert change_phrase(5, unit="residents", against="year") == "前年比 +5人"
    with app.test_request_context(), force_locale("en"):
        assert change_phrase(-14, unit="residents", better="down") == \
            "−14 residents compared with a month earlier (better)"
        assert change_phrase(3, unit="percent", against="period") == \
            "+3 percentage points compared with the previous period"
        # one of a unit is singular in English ("−1 residents" read wrong on the home page)
        assert change_phrase(-1, unit="residents", better="down") == \
            "−1 resident compared with a month earlier (better)"
        assert change_phrase(1, unit="points") == "+1 point compared with a month earlier"
        assert change_phrase(1, unit="percent") == \
            "+1 percentage point compared with a month earlier"
        assert change_phrase(1.5, unit="points") == "+1.5 points compared with a month earlier"


def test_counts_in_sentences_carry_separators(app):
    template = app.jinja_env.from_string(
        '{{ ngettext("%(num)s resident", "%(num)s residents", 12345) }}')
    with app.test_request_context(), force_locale("en"):
        assert template.render() == "12,345 residents"
    with app.test_request_context(), force_locale("ja"):
        assert template.render() == "12,345人の住民"


def test_an_extra_catalogue_folder_keeps_japanese_plurals(korean_app):
    """The extra folder has no Japanese catalogue; Japanese keeps its own plural rule
    (one form) instead of picking up the English one from the empty stand-in."""
    template = korean_app.jinja_env.from_string(
        '{{ ngettext("%(num)s resident", "%(num)s residents", 2) }}')
    with korean_app.test_request_context(), force_locale("ja"):
        assert template.render() == "2人の住民"
    with korean_app.test_request_context(), force_locale("en"):
        assert template.render() == "2 residents"


def test_header_and_footer_name_the_portal_alike(client, staff_client):
    pages = ((client, "/", "市民ポータル"), (staff_client, "/admin/", "管理コンソール"))
    for who, path, name in pages:
        html = who.get(path, headers={"Accept-Language": "ja"}).get_data(as_text=True)
        header, footer = html.split("</header>")[0], html.split("<footer")[1]
        assert f"桜川市 · {name}" in footer and name in header
        assert "サポートポータル" not in html


def test_the_home_page_promises_only_what_exists(client):
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True).lower()
    main = html.split("<main")[1]
    assert "survey" not in main and "ask questions" not in main and "japanese or english" \
        not in main
    assert "find the city's services and see how you use them" in main.replace("&#39;", "'")
