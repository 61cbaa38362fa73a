"""A survey's results page, free text, detractors, exports and the console tiles.

Surveys, questions, responses and answers are made directly here (the builder and
the answering pages are other parts of the feature)."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.surveys import results
from portal.surveys.models import Answer, Invitation, Question, Response, Survey
from portal.timeutil import utcnow
from tests import factories


def resident_links(html: str) -> list[str]:
    return re.findall(r'href="/admin/residents/(\d+)"', html)


@pytest.fixture(autouse=True)
def _english(manager_client, staff_client, official_client):
    for client in (manager_client, staff_client, official_client):
        client.set_cookie("portal_locale", "en")


@pytest.fixture(autouse=True)
def _fresh_cache():
    results.clear_cache()
    yield
    results.clear_cache()


def make_survey(department, *, anonymous=False, service=None, types=("csat", "nps", "ces"),
                title="Visit survey") -> Survey:
    survey = Survey(department_id=department.id, service_id=service.id if service else None,
                    title_en=title, title_ja="来庁アンケート", anonymous=anonymous,
                    status="open")
    for position, kind in enumerate(types):
        options = None
        if kind in ("single", "multiple"):
            options = [{"value": v, "label_en": v.title(), "label_ja": v} for v in
                       ("bus", "train", "walk")]
        survey.questions.append(Question(key=f"q{position + 1}", position=position, type=kind,
                                         text_en=f"Question {position + 1}",
                                         text_ja=f"質問{position + 1}", options=options,
                                         scale_max=4 if kind == "rating" else None))
    db.session.add(survey)
    db.session.flush()
    return survey


def respond(survey: Survey, answers: dict, *, resident=None, channel="web", district="中央",
            age_band="40-64", locale="ja", when=None, detractor=False) -> Response:
    response = Response(survey_id=survey.id, resident_id=resident.id if resident else None,
                        channel=channel, submission_key=uuid.uuid4().hex,
                        submitted_at=when or utcnow() - timedelta(days=1), district=district,
                        age_band=age_band, locale=locale, detractor=detractor)
    db.session.add(response)
    db.session.flush()
    by_key = {q.key: q for q in survey.questions}
    for key, value in answers.items():
        question = by_key[key]
        values = value if isinstance(value, list) else [value]
        for item in values:
            db.session.add(Answer(
                response_id=response.id, question_id=question.id,
                number=item if isinstance(item, int) else None,
                choice=item if question.type in ("single", "multiple") else None,
                text=item if question.type in ("short_text", "long_text") else None))
    db.session.flush()
    return response


def test_results_page_shows_the_hand_computed_figures(manager_client, catalogue):
    survey = make_survey(catalogue["library"])
    # CSAT: 4,5,5,2,3 → 3 of 5 = 60 %; NPS: 10,9,7,3,0 → 40 % − 40 % = 0; CES 1..5 → 3.00
    for csat, nps, ces in [(4, 10, 1), (5, 9, 2), (5, 7, 3), (2, 3, 4), (3, 0, 5)]:
        respond(survey, {"q1": csat, "q2": nps, "q3": ces})
    db.session.add_all([Invitation(survey_id=survey.id, resident_id=factories.resident().id,
                                   completed_at=utcnow() if n < 4 else None,
                                   started_at=utcnow() if n < 6 else None)
                        for n in range(8)])
    db.session.commit()
    page = manager_client.get(f"/admin/surveys/{survey.id}/results")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "60.0 %" in html  # CSAT
    assert "50.0 %" in html  # response rate 4 / 8
    assert "75.0 %" in html  # started 6 / 8
    assert "3.00" in html  # CES mean
    assert "n = 5" in html
    assert "csat" not in html.replace("CSAT", "")  # codes only through labels


def test_figures_are_suppressed_at_four_answers_and_shown_at_five(manager_client, catalogue):
    survey = make_survey(catalogue["library"], types=("csat",))
    for _ in range(4):
        respond(survey, {"q1": 5})
    db.session.commit()
    html = manager_client.get(f"/admin/surveys/{survey.id}/results").get_data(as_text=True)
    assert "100.0 %" not in html
    respond(survey, {"q1": 5})
    db.session.commit()
    html = manager_client.get(f"/admin/surveys/{survey.id}/results").get_data(as_text=True)
    assert "100.0 %" in html


def test_breakdown_cells_have_their_n_and_are_suppressed(app, catalogue):
    survey = make_survey(catalogue["library"], types=("csat",))
    for _ in range(5):
        respond(survey, {"q1": 5}, district="中央", channel="web")
    for _ in range(4):
        respond(survey, {"q1": 1}, district="北町", channel="paper")
    db.session.commit()
    with app.test_request_context():
        counts = results.survey_counts(survey)
        question = survey.questions[0]
        rows = results.breakdown(question, "district", counts, 5, {"北町": "Kita"},
                                 ["中央", "北町"], {"ja": "日本語", "en": "English"})
        assert [(r.code, r.label, r.figure.n, r.figure.value, r.figure.suppressed)
                for r in rows] == [("中央", "中央", 5, 100.0, False),
                                   ("北町", "Kita", 4, None, True)]
        channels = results.breakdown(question, "channel", counts, 5, {}, [], {"ja": "日本語"})
        # the page's default language: ja
        assert [str(r.label) for r in channels] == ["オンライン（ログイン）", "紙の用紙"]


def test_monthly_trend_in_local_months(app, catalogue):
    survey = make_survey(catalogue["library"], types=("csat",))
    # 2026-01-31 16:00 UTC is 2026-02-01 01:00 in Tokyo: a February answer
    for when in [datetime(2026, 1, 10, tzinfo=UTC)] * 5 + [datetime(2026, 1, 31, 16, tzinfo=UTC)]:
        respond(survey, {"q1": 4}, when=when)
    db.session.commit()
    with app.test_request_context():
        counts = results.survey_counts(survey)
    assert [m.isoformat() for m in counts.months] == ["2026-01-01", "2026-02-01"]
    assert counts.month_responses == [5, 1]
    figures = results.trend(survey.questions[0], counts, 5)
    assert (figures[0].value, figures[1].suppressed) == (100.0, True)


def test_query_count_is_flat_as_responses_and_questions_grow(manager_client, catalogue,
                                                             count_queries):
    def queries(survey) -> int:
        results.clear_cache()
        with count_queries() as counter:
            assert manager_client.get(f"/admin/surveys/{survey.id}/results").status_code == 200
        return counter.count

    small = make_survey(catalogue["library"], types=("csat", "single"))
    for month in (1, 2):
        respond(small, {"q1": 4, "q2": "bus"}, when=datetime(2026, month, 10, tzinfo=UTC))
    big = make_survey(catalogue["library"], types=("csat", "nps", "ces", "rating", "single",
                                                   "multiple", "yes_no", "long_text"))
    for n in range(40):
        respond(big, {"q1": 1 + n % 5, "q2": n % 11, "q3": 1 + n % 7, "q4": 1 + n % 4,
                      "q5": "train", "q6": ["bus", "walk"], "q7": n % 2, "q8": f"text {n}"},
                when=datetime(2026, 1 + n % 6, 10, tzinfo=UTC), channel=("web", "paper")[n % 2])
    db.session.commit()
    cold = queries(big)
    assert cold == queries(small)
    # seen again with no new response: the counts come from the cache
    manager_client.get(f"/admin/surveys/{big.id}/results")
    with count_queries() as counter:
        manager_client.get(f"/admin/surveys/{big.id}/results")
    assert counter.count < cold, counter.statements


def test_free_text_is_scoped_to_viewable_residents_and_audited(staff_client, manager_client,
                                                               users, catalogue):
    survey = make_survey(catalogue["library"], types=("long_text",))
    reader, stranger = factories.resident(family_name="読書"), factories.resident(
        family_name="他人")
    factories.events(reader, "library-loans")  # used a library service
    respond(survey, {"q1": "The opening hours are too short"}, resident=reader)
    respond(survey, {"q1": "Parking is hard"}, resident=stranger)
    db.session.commit()
    url = f"/admin/surveys/{survey.id}/results/questions/{survey.questions[0].id}/text"
    html = staff_client.get(url).get_data(as_text=True)
    assert "opening hours" in html and "Parking" not in html
    assert resident_links(html) == [str(reader.id)]
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "survey.free_text_view")).all()
    assert [(e.target_type, e.target_id, e.actor_id) for e in entries] == [
        ("residents", str(reader.id), users["staff"].id)] or [
        (e.target_type, int(e.target_id)) for e in entries] == [("residents", reader.id)]
    html = manager_client.get(url + "?q=PARKING").get_data(as_text=True)
    assert "Parking" in html and "opening hours" not in html


def test_free_text_of_an_anonymous_survey_shows_text_only(manager_client, catalogue):
    survey = make_survey(catalogue["library"], types=("short_text",), anonymous=True)
    respond(survey, {"q1": "Nice staff"})
    db.session.commit()
    url = f"/admin/surveys/{survey.id}/results/questions/{survey.questions[0].id}/text"
    html = manager_client.get(url).get_data(as_text=True)
    assert "Nice staff" in html and resident_links(html) == []
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "survey.free_text_view"))
    assert entry.target_type == "surveys"


def test_free_text_is_refused_to_officials_and_other_departments(role_client, make_user,
                                                                 catalogue, app):
    survey = make_survey(catalogue["library"], types=("short_text",))
    db.session.commit()
    url = f"/admin/surveys/{survey.id}/results/questions/{survey.questions[0].id}/text"
    assert role_client("official").get(url).status_code == 403
    other = make_user("staff", department=next(d for code, d in catalogue.items()
                                                if code != "library"))
    from tests.conftest import sign_in
    assert sign_in(app.test_client(), other).get(url).status_code == 403


def test_detractors_list_only_viewable_residents(staff_client, official_client, catalogue):
    library = factories.service("library-loans")
    survey = make_survey(catalogue["library"], service=library, types=("nps",))
    known, unknown = factories.resident(family_name="知人"), factories.resident(family_name="他人")
    factories.events(known, "library-loans")
    respond(survey, {"q1": 2}, resident=known, detractor=True)
    respond(survey, {"q1": 1}, resident=unknown, detractor=True)
    respond(survey, {"q1": 0}, resident=known, detractor=True,
            when=utcnow() - timedelta(days=45))  # too old
    db.session.commit()
    html = staff_client.get(f"/admin/surveys/{survey.id}/results").get_data(as_text=True)
    assert resident_links(html) == [str(known.id)]
    assert "2 detractor responses" in html
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "survey.detractor_list_view")).target_id in (str(known.id), known.id)
    html = official_client.get(f"/admin/surveys/{survey.id}/results").get_data(as_text=True)
    assert resident_links(html) == [] and "detractor responses" not in html


def test_anonymous_detractors_show_only_the_count(manager_client, catalogue):
    survey = make_survey(catalogue["library"], anonymous=True, types=("nps",))
    respond(survey, {"q1": 2}, detractor=True)
    db.session.commit()
    html = manager_client.get(f"/admin/surveys/{survey.id}/results").get_data(as_text=True)
    assert "1 detractor response." in html and resident_links(html) == []


def _csv(response):
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def test_export_of_an_identified_survey(manager_client, staff_client, catalogue):
    survey = make_survey(catalogue["library"], types=("csat", "multiple", "long_text"))
    person = factories.resident(external_id="R-EXPORT1")
    respond(survey, {"q1": 5, "q2": ["bus", "walk"], "q3": "=HYPERLINK(\"x\")"}, resident=person,
            channel="paper")
    db.session.commit()
    url = f"/admin/surveys/{survey.id}/responses/export"
    rows = _csv(manager_client.get(url + "?format=csv"))
    assert rows[0] == ["response_id", "submitted_on", "channel", "resident_id",
                       "resident_external_id", "q1", "q2", "q3"]
    assert rows[1][2:] == ["paper", str(person.id), "R-EXPORT1", "5", "bus;walk",
                           "'=HYPERLINK(\"x\")"]
    data = json.loads(manager_client.get(url + "?format=json").get_data(as_text=True))
    assert data["responses"][0]["resident_external_id"] == "R-EXPORT1"
    assert data["responses"][0]["q2"] == "bus;walk"
    assert staff_client.get(url + "?format=csv").status_code == 403  # managers/admins only
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "survey.responses_export"))


def test_export_of_an_anonymous_survey_has_no_resident_columns(staff_client, catalogue):
    survey = make_survey(catalogue["library"], anonymous=True, types=("nps",))
    respond(survey, {"q1": 9})
    db.session.commit()
    url = f"/admin/surveys/{survey.id}/responses/export"
    respond(survey, {"q1": 3})
    db.session.commit()
    rows = _csv(staff_client.get(url + "?format=csv"))
    # no resident, token or even response id (ids follow the order of arrival)
    assert rows[0] == ["submitted_on", "channel", "q1"]
    assert [row[2] for row in rows[1:]] == ["3", "9"]  # sorted by the answers, not arrival
    data = json.loads(staff_client.get(url + "?format=json").get_data(as_text=True))
    assert set(data["responses"][0]) == {"submitted_on", "channel", "q1"}
    assert staff_client.get(url + "?format=xml").status_code == 400


def test_console_home_tiles(manager_client, staff_client, catalogue):
    survey = make_survey(catalogue["library"], types=("csat", "nps"))
    now = utcnow()
    for _ in range(6):  # this period: CSAT 100 %, NPS +100
        respond(survey, {"q1": 5, "q2": 10}, when=now - timedelta(days=3))
    for _ in range(5):  # the 90 days before: CSAT 0 %
        respond(survey, {"q1": 1, "q2": 10}, when=now - timedelta(days=120))
    db.session.commit()
    html = manager_client.get("/admin/").get_data(as_text=True)
    assert "Survey responses" in html
    assert "+100 percentage points compared with the previous period (better)" in html
    assert 'href="/admin/surveys/"' in html  # the tiles lead to the surveys
    other = make_survey(next(d for c, d in catalogue.items() if c != "library"), types=("csat",))
    for _ in range(5):
        respond(other, {"q1": 1}, when=now - timedelta(days=3))
    db.session.commit()
    assert "+100 percentage points" in staff_client.get("/admin/").get_data(as_text=True)


def test_results_page_in_japanese_with_every_part(manager_client, catalogue):
    manager_client.set_cookie("portal_locale", "ja")
    service = factories.service("library-loans")
    survey = make_survey(catalogue["library"], service=service,
                         types=("csat", "nps", "ces", "rating", "single", "multiple", "yes_no",
                                "long_text"))
    person = factories.resident()
    for n in range(12):
        respond(survey, {"q1": 1 + n % 5, "q2": n % 11, "q3": 1 + n % 7, "q4": 1 + n % 4,
                         "q5": "bus", "q6": ["bus", "train"], "q7": n % 2, "q8": "良い"},
                resident=person, detractor=n % 3 == 0,
                when=utcnow() - timedelta(days=1 + 20 * (n % 3)))
    db.session.commit()
    page = manager_client.get(f"/admin/surveys/{survey.id}/results?by=age_band")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "集計結果" in html and "40〜64歳" in html
    assert "合計は100%を超える" in html
