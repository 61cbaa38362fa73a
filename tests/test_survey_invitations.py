"""Survey invitations: audiences, who is left out, the e-mails and their links,
the one reminder, the CSV of ids, staff limits and the invitations page."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.engagement.models import EngagementScore
from portal.extensions import db
from portal.mail.models import OutboundMessage
from portal.residents.models import District
from portal.surveys import invitations, jobs
from portal.surveys.invitations import Criteria, InvitationError
from portal.surveys.models import Invitation, Survey
from portal.surveys.tokens import token_hash
from portal.timeutil import local_zone, utcnow
from tests import factories
from tests.conftest import sign_in

LINK = re.compile(r"/surveys/i/([A-Za-z0-9_-]+)")


def make_survey(department, *, status="open", reminder=None, valid=30, **values) -> Survey:
    values.setdefault("title_ja", "図書館の満足度調査")
    values.setdefault("title_en", "Library satisfaction survey")
    survey = Survey(department_id=department.id, status=status, reminder_after_days=reminder,
                    invitation_valid_days=valid, **values)
    db.session.add(survey)
    db.session.flush()
    return survey


def person(**values):
    values.setdefault("consent_outreach", True)
    values.setdefault("email", f"{uuid.uuid4().hex[:12]}@example.org")
    values.setdefault("preferred_locale", "en")
    return factories.resident(**values)


def ids(survey, criteria, actor=None) -> set[int]:
    return set(db.session.scalars(invitations.audience(survey, criteria, actor)))


def score(resident, slug, band, trend="same"):
    db.session.add(EngagementScore(
        service_id=factories.service(slug).id, resident_id=resident.id, as_of=date.today(),
        model_id=1, score={"red": 30, "yellow": 60, "green": 90}[band], band=band,
        window_days=90, interval_days=30, trend=trend))
    db.session.flush()


@pytest.fixture
def library(catalogue):
    return catalogue["library"]


@pytest.fixture
def survey(library):
    db.session.add(District(code="東部", name_ja="東部", name_en="East"))
    return make_survey(library, reminder=7)


def sent_messages(purpose=invitations.PURPOSE) -> list[OutboundMessage]:
    return list(db.session.scalars(select(OutboundMessage).where(
        OutboundMessage.purpose == purpose).order_by(OutboundMessage.id)))


# -- segments ----------------------------------------------------------------------------

def test_users_of_a_service_within_n_days(survey):
    recent, old, other = person(), person(), person()
    factories.events(recent, "library-loans", days_ago=10)
    factories.events(old, "library-loans", days_ago=400)
    factories.events(other, "cancer-screening", days_ago=5)
    library_id = factories.service("library-loans").id
    assert ids(survey, Criteria(service_id=library_id)) == {recent.id}  # 365 days
    assert ids(survey, Criteria(service_id=library_id, used_within_days=5)) == set()
    assert ids(survey, Criteria(service_id=library_id, used_within_days=500)) == {
        recent.id, old.id}


def test_users_of_a_service_by_band_and_trend(survey):
    red, green, falling = person(), person(), person()
    for who in (red, green, falling):
        factories.events(who, "library-loans", days_ago=3)
    score(red, "library-loans", "red")
    score(green, "library-loans", "green")
    score(falling, "library-loans", "yellow", trend="down")
    library_id = factories.service("library-loans").id
    assert ids(survey, Criteria(service_id=library_id, band="red")) == {red.id}
    assert ids(survey, Criteria(service_id=library_id, trend="down")) == {falling.id}
    with pytest.raises(InvitationError):
        Criteria(band="red").check()  # a band needs a service


def test_everyone_but_erased_residents(survey, users):
    a, b = person(), person()
    erased = person(anonymised_at=utcnow())
    everyone = ids(survey, Criteria(everyone=True))
    assert {a.id, b.id} <= everyone and erased.id not in everyone
    assert ids(survey, Criteria(everyone=True), users["staff"]) == set()  # none in scope
    assert Criteria.from_dict(Criteria(everyone=True).as_dict()) == Criteria(everyone=True)


def test_district_age_band_and_language(survey):
    year = utcnow().astimezone(local_zone()).year
    north = person(district="北部", birth_year=year - 30, preferred_locale="ja")
    south = person(district="南部", birth_year=year - 70, preferred_locale="en")
    assert ids(survey, Criteria(district="北部")) == {north.id}
    assert ids(survey, Criteria(age_band="65-74")) == {south.id}
    assert ids(survey, Criteria(age_band="18-39")) == {north.id}
    assert ids(survey, Criteria(locale="en")) >= {south.id}
    assert north.id not in ids(survey, Criteria(locale="en"))
    assert ids(survey, Criteria(district="北部", locale="en")) == set()  # all must hold


def test_household_with_a_child_under_n(survey):
    year = utcnow().astimezone(local_zone()).year
    parent, child = person(birth_year=year - 35), person(birth_year=year - 4)
    factories.household(parent, child)
    other_parent, teen = person(birth_year=year - 45), person(birth_year=year - 15)
    factories.household(other_parent, teen)
    alone = person(birth_year=year - 40)
    assert ids(survey, Criteria(child_under=6)) == {parent.id, child.id}
    assert ids(survey, Criteria(child_under=18)) == {parent.id, child.id, other_parent.id,
                                                    teen.id}
    assert alone.id not in ids(survey, Criteria(child_under=18))


def test_external_ids_and_erased_residents(survey):
    a, b = person(external_id="R-A"), person(external_id="R-B")
    erased = person(external_id="R-X", anonymised_at=utcnow())
    assert ids(survey, Criteria(external_ids=["R-A", "R-X", "R-NONE"])) == {a.id}
    assert b.id not in ids(survey, Criteria(external_ids=["R-A"]))
    count = invitations.count_audience(survey, Criteria(external_ids=["R-A", "R-X", "R-NONE"]),
                                       actor=None)
    assert (count.unknown_count, count.unknown_ids) == (2, ["R-X", "R-NONE"])
    assert erased.id not in ids(survey, Criteria(district="中央"))


# -- exclusions and sending ---------------------------------------------------------------

def test_left_out_residents_are_counted_each_once(survey):
    crit = Criteria(district="西部")
    ok = person(district="西部")
    person(district="西部", consent_outreach=False)
    person(district="西部", consent_outreach=False, do_not_contact=True)  # first reason
    person(district="西部", do_not_contact=True)
    person(district="西部", email=None)
    person(district="西部", email="")
    invited = person(district="西部")
    db.session.add(Invitation(survey_id=survey.id, resident_id=invited.id, channel="web"))
    db.session.flush()
    count = invitations.count_audience(survey, crit, actor=None)
    assert (count.matched, count.no_consent, count.do_not_contact, count.no_email,
            count.already_invited, count.to_invite) == (7, 2, 1, 2, 1, 1)
    result = invitations.send_invitations(survey, crit, actor=None)
    assert result.invited == 1
    assert [m.to_address for m in sent_messages()] == [ok.email]


def test_nobody_is_invited_twice_even_when_sending_twice(survey):
    crit = Criteria(district="東部")
    people = [person(district="東部") for _ in range(3)]
    assert jobs.create_invitations(survey.id, crit.as_dict()) == 3
    people.append(person(district="東部"))
    assert jobs.create_invitations(survey.id, crit.as_dict()) == 1
    assert jobs.create_invitations(survey.id, crit.as_dict()) == 0
    rows = db.session.execute(select(Invitation.resident_id, func.count())
                              .where(Invitation.survey_id == survey.id)
                              .group_by(Invitation.resident_id)).all()
    assert sorted(rows) == sorted((p.id, 1) for p in people)
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage).where(
        OutboundMessage.purpose == invitations.PURPOSE)) == 4


def test_a_survey_that_is_not_open_sends_nothing(library):
    draft = make_survey(library, status="draft")
    person(district="東部")
    with pytest.raises(InvitationError, match=r"open|受付中"):
        invitations.send_invitations(draft, Criteria(district="東部"), actor=None)
    ended = make_survey(library, closes_on=date(2020, 1, 1), opens_on=date(2019, 1, 1))
    with pytest.raises(InvitationError):
        invitations.send_invitations(ended, Criteria(district="東部"), actor=None)


def test_tokens_are_stored_hashed_and_the_link_works(survey, app):
    who = person(district="東部")
    invitations.send_invitations(survey, Criteria(district="東部"), actor=None)
    invitation = db.session.scalar(select(Invitation).where(Invitation.resident_id == who.id))
    (message,) = sent_messages()
    token = LINK.search(message.body_text).group(1)
    assert message.body_text.count(token) == 1
    assert f"{app.config['BASE_URL']}/surveys/i/{token}" in message.body_text
    assert invitation.token_hash == token_hash(token)
    assert len(token) >= 43
    stored = " ".join(str(v) for v in db.session.execute(
        select(Invitation.__table__)).one())
    assert token not in stored
    audit = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "survey.invitations_sent")).one()
    assert token not in str(audit.data) and token not in audit.summary
    assert audit.data == {"invited": 1, "criteria": {"district": "東部"}}
    # each invitation has its own token
    other = person(district="東部")
    invitations.send_invitations(survey, Criteria(district="東部"), actor=None)
    second = LINK.search(sent_messages()[-1].body_text).group(1)
    assert second != token and sent_messages()[-1].to_address == other.email


def test_the_email_is_in_the_residents_language(survey):
    person(district="東部", preferred_locale="ja", family_name="山田", given_name="花子",
           name_latin="Hanako Yamada", email="ja@example.org")
    person(district="東部", preferred_locale="en", family_name="山田", given_name="太郎",
           name_latin="Taro Yamada", email="en@example.org")
    invitations.send_invitations(survey, Criteria(district="東部"), actor=None)
    by_address = {m.to_address: m for m in sent_messages()}
    ja, en = by_address["ja@example.org"], by_address["en@example.org"]
    assert ja.locale == "ja" and en.locale == "en"
    assert "図書館の満足度調査" in ja.subject and "山田 花子 様" in ja.body_text
    assert "アンケート" in ja.body_text
    assert "Library satisfaction survey" in en.subject
    assert en.body_text.startswith("Taro Yamada") and "Answer with this personal link" in (
        en.body_text)
    assert "山田" not in en.body_text


def test_expiry_is_now_plus_the_surveys_validity(library):
    survey = make_survey(library, valid=14)
    person(district="東部")
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    invitations.send_invitations(survey, Criteria(district="東部"), actor=None, now=now)
    invitation = db.session.scalars(select(Invitation)).one()
    assert invitation.expires_at == now + timedelta(days=14)
    assert invitation.sent_at == now
    (message,) = sent_messages()
    assert "December 15, 2026" in message.body_text


# -- the reminder -------------------------------------------------------------------------

def test_one_reminder_after_n_days_only_to_those_not_completed(survey):
    waiting, done, withdrew = (person(district="東部") for _ in range(3))
    t0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    invitations.send_invitations(survey, Criteria(district="東部"), actor=None, now=t0)
    tokens = {m.to_address: LINK.search(m.body_text).group(1) for m in sent_messages()}
    db.session.execute(Invitation.__table__.update().where(
        Invitation.resident_id == done.id).values(completed_at=t0 + timedelta(days=1)))
    assert invitations.send_reminders(survey, now=t0 + timedelta(days=6)) == 0  # too early
    withdrew.consent_outreach = False  # consent is checked again at reminder time
    db.session.flush()
    assert jobs.remind(survey.id, now=t0 + timedelta(days=7)) == 1
    (reminder,) = sent_messages(invitations.REMINDER_PURPOSE)
    assert reminder.to_address == waiting.email
    assert reminder.subject.startswith("Reminder")
    # the same working link as the invitation
    assert LINK.search(reminder.body_text).group(1) == tokens[waiting.email]
    reminded = db.session.scalar(select(Invitation).where(Invitation.resident_id == waiting.id))
    assert reminded.reminded_at == t0 + timedelta(days=7)
    assert reminded.token_hash == token_hash(tokens[waiting.email])
    # at most one
    withdrew.consent_outreach = True
    db.session.flush()
    assert jobs.remind(survey.id, now=t0 + timedelta(days=9)) == 1  # the one who consents again
    assert jobs.remind(survey.id, now=t0 + timedelta(days=10)) == 0
    assert len(sent_messages(invitations.REMINDER_PURPOSE)) == 2
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "survey.reminders_sent")) == 2


def test_no_reminder_after_expiry_or_do_not_contact_or_without_setting(library):
    survey = make_survey(library, reminder=3, valid=5)
    blocked = person(district="東部")
    person(district="東部")
    t0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    invitations.send_invitations(survey, Criteria(district="東部"), actor=None, now=t0)
    blocked.do_not_contact = True
    db.session.flush()
    assert invitations.send_reminders(survey, now=t0 + timedelta(days=6)) == 0  # expired
    assert invitations.send_reminders(survey, now=t0 + timedelta(days=4)) == 1
    none = make_survey(library, reminder=None)
    invitations.send_invitations(none, Criteria(district="東部"), actor=None, now=t0)
    assert invitations.send_reminders(none, now=t0 + timedelta(days=30)) == 0


def test_the_daily_job_reminds_every_open_survey(library):
    first, second = make_survey(library, reminder=2), make_survey(library, reminder=2)
    person(district="東部")
    t0 = utcnow() - timedelta(days=3)
    for survey in (first, second):
        invitations.send_invitations(survey, Criteria(district="東部"), actor=None, now=t0)
    assert jobs.send_due_reminders() == 2
    assert jobs.send_due_reminders() == 0


# -- the CSV of external ids --------------------------------------------------------------

@pytest.mark.parametrize("content, rows", [
    (b"", [1]),
    (b"id\nR-1\n", [1]),
    (b"external_id,name\nR-1,x\n", [1]),
    (b"external_id\n", [1]),
    (b"external_id\nR-1\nR-2,extra\n,\n\nR-3\n" + b"x" * 70 + b"\n", [3, 4, 7]),
    (b"external_id\n\xff\xfe\x00", [1]),
])
def test_a_bad_csv_names_its_rows(app, content, rows):
    with pytest.raises(invitations.CsvRejected) as rejected:
        invitations.read_external_ids(content)
    assert [p.row for p in rejected.value.problems] == rows


def test_a_good_csv_in_either_encoding():
    assert invitations.read_external_ids("\ufeffexternal_id\nR-1\n\nR-2\nR-1\n".encode()) == [
        "R-1", "R-2"]
    assert invitations.read_external_ids("external_id\r\n住民-1\r\n".encode("cp932")) == [
        "住民-1"]


# -- staff and their department -----------------------------------------------------------

def test_staff_invite_only_residents_of_their_departments_services(
        survey, catalogue, users, make_user):
    staff = users["staff"]  # library
    reader, patient = person(district="東部"), person(district="東部")
    eligible = person(district="東部")
    factories.events(reader, "library-loans", days_ago=3)
    factories.events(patient, "cancer-screening", days_ago=3)
    score(eligible, "library-study-room", "red")  # in scope without a use
    crit = Criteria(district="東部")
    assert ids(survey, crit, staff) == {reader.id, eligible.id}
    assert ids(survey, crit, users["manager"]) >= {reader.id, patient.id, eligible.id}
    assert invitations.send_invitations(survey, crit, actor=staff).invited == 2
    health = make_survey(catalogue["health"])
    with pytest.raises(InvitationError):
        invitations.send_invitations(health, crit, actor=staff)
    with pytest.raises(InvitationError):
        invitations.count_audience(survey, Criteria(
            service_id=factories.service("cancer-screening").id), actor=staff)


def test_staff_of_another_department_get_403_on_the_page(app, catalogue, survey, make_user):
    nurse = make_user(Role.STAFF, department=catalogue["health"])
    client = sign_in(app.test_client(), nurse)
    assert client.get(f"/admin/surveys/{survey.id}/invitations").status_code == 403
    assert client.post(f"/admin/surveys/{survey.id}/invitations/count",
                       data={"district": "東部"}).status_code == 403
    assert client.post(f"/admin/surveys/{survey.id}/invitations/send").status_code == 403
    assert client.post(f"/admin/surveys/{survey.id}/invitations/remind").status_code == 403


# -- the page -----------------------------------------------------------------------------

EN = {"Accept-Language": "en"}
SO_FAR = ("Invited", "E-mails sent", "Reminded", "Started", "Completed", "Expired")
COUNTED = ("Residents matched", "Left out: no outreach consent", "Left out: do not contact",
           "Left out: no e-mail address", "Left out: already invited", "To invite")


def figures(html: str, labels) -> list[str]:
    """The number in the row headed by each label (tags stripped)."""
    found = []
    for label in labels:
        match = re.search(r'<th scope="row"[^>]*>(?:<strong>)?' + re.escape(label)
                          + r'(?:</strong>)?</th><td class="number">(.*?)</td>', html, re.S)
        found.append(re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else None)
    return found


def test_the_page_counts_then_sends_through_the_job(manager_client, survey):
    for n in range(3):
        person(district="東部", email=f"p{n}@example.org")
    person(district="東部", consent_outreach=False)
    page = manager_client.get(f"/admin/surveys/{survey.id}/invitations", headers=EN)
    assert page.status_code == 200
    assert figures(page.text, SO_FAR) == ["0"] * 6
    counted = manager_client.post(f"/admin/surveys/{survey.id}/invitations/count",
                                  data={"district": "東部"}, headers=EN)
    assert counted.status_code == 200
    assert figures(counted.text, COUNTED) == ["4", "1", "0", "0", "0", "3"]
    assert "Send 3 invitations" in counted.text
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0  # not yet
    criteria = re.search(r'name="criteria" type="hidden" value="([^"]+)"', counted.text)
    payload = criteria.group(1).replace("&#34;", '"').replace("&quot;", '"')
    sent = manager_client.post(f"/admin/surveys/{survey.id}/invitations/send",
                               data={"criteria": payload, "expected": "3"},
                               follow_redirects=True, headers=EN)
    assert "3 invitations were queued for sending." in sent.text
    assert figures(sent.text, SO_FAR) == ["3", "3", "0", "0", "0", "0"]
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 3
    again = manager_client.post(f"/admin/surveys/{survey.id}/invitations/count",
                                data={"district": "東部"}, headers=EN)
    assert figures(again.text, COUNTED) == ["4", "1", "0", "0", "3", "0"]
    assert "Send 0" not in again.text and "Nobody in this audience" in again.text


def test_the_page_shows_a_bad_csv_and_unknown_ids(manager_client, survey):
    person(external_id="R-1")
    bad = manager_client.post(f"/admin/surveys/{survey.id}/invitations/count", data={
        "file": (io.BytesIO(b"external_id\nR-1\nR-2,x\n"), "ids.csv")},
        content_type="multipart/form-data", headers=EN)
    assert bad.status_code == 400
    assert "Row 3:" in bad.text and "only one (the external id) is expected" in bad.text
    good = manager_client.post(f"/admin/surveys/{survey.id}/invitations/count", data={
        "file": (io.BytesIO(b"external_id\nR-1\nR-404\n"), "ids.csv")},
        content_type="multipart/form-data", headers=EN)
    assert good.status_code == 200
    assert "1 id in the file matches no resident" in good.text and "R-404" in good.text
    assert figures(good.text, COUNTED[:1]) == ["1"]


def test_a_tampered_audience_is_refused(manager_client, survey):
    for payload in ("not json", '{"district": 5}', '{"evil": 1}', "{}"):
        response = manager_client.post(f"/admin/surveys/{survey.id}/invitations/send",
                                       data={"criteria": payload})
        assert response.status_code == 400


def test_the_page_explains_a_survey_that_is_not_open(manager_client, library):
    draft = make_survey(library, status="draft")
    page = manager_client.get(f"/admin/surveys/{draft.id}/invitations", headers=EN)
    assert "only while the survey is open" in page.text
    assert "district" not in page.text
    sent = manager_client.post(f"/admin/surveys/{draft.id}/invitations/send",
                               data={"criteria": '{"district": "東部"}'},
                               follow_redirects=True, headers=EN)
    assert "only while the survey is open" in sent.text


def test_send_reminders_now_from_the_page(manager_client, survey):
    person(district="東部")
    invitations.send_invitations(survey, Criteria(district="東部"), actor=None,
                                 now=utcnow() - timedelta(days=8))
    db.session.commit()
    page = manager_client.post(f"/admin/surveys/{survey.id}/invitations/remind",
                               follow_redirects=True, headers=EN)
    assert "1 reminder was queued for sending." in page.text
    assert figures(page.text, SO_FAR[:3]) == ["1", "1", "1"]


def test_the_page_in_japanese(manager_client, survey):
    page = manager_client.get(f"/admin/surveys/{survey.id}/invitations",
                              headers={"Accept-Language": "ja"})
    assert "図書館の満足度調査" in page.text
    assert "Invitations so far" not in page.text


def test_invitation_links_are_built_in_a_job_without_a_request(app):
    """The send job runs on a queue worker in production: no request to build on."""
    from flask import has_request_context

    from portal.surveys.invitations import invitation_url

    with app.app_context():
        assert not has_request_context()
        url = invitation_url("abc_DEF-123")
    base = app.config.get("BASE_URL") or "http://127.0.0.1:5000"
    assert url == base.rstrip("/") + "/surveys/i/abc_DEF-123"
