"""Console: resident list and search, the 360° view with department scoping,
counter entry, linking and merging."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.residents.models import Resident
from portal.services.models import UsageEvent
from tests import factories
from tests.conftest import register as register_resident

EN = {"Accept-Language": "en"}
CHECK = {"identity_method": "driving_licence", "identity_note": ""}


def test_resident_search_handles_japanese_text(staff_client, catalogue):
    sato = factories.resident(family_name="佐藤", given_name="花子", family_name_kana="サトウ",
                              given_name_kana="ハナコ", name_latin="Hanako Sato")
    nguyen = factories.resident(family_name="Nguyen", given_name="Van An",
                                family_name_kana="グエン", given_name_kana="ヴァン アン",
                                name_latin="Van An Nguyen", email="an@example.org")
    db.session.commit()

    def found(q):
        html = staff_client.get("/admin/residents/", query_string={"q": q}).get_data(
            as_text=True)
        return {r.id for r in (sato, nguyen) if f"/admin/residents/{r.id}\"" in html}

    assert found("佐藤") == {sato.id}
    assert found("佐藤花子") == {sato.id}  # family and given name written together
    assert found("さとう") == {sato.id}  # hiragana finds katakana
    assert found("ｻﾄｳ") == {sato.id}  # half-width katakana
    assert found("sato") == {sato.id}
    assert found("NGUYEN") == {nguyen.id}
    assert found("an@example") == {nguyen.id}
    assert found(sato.external_id) == {sato.id}
    assert found("佐藤 ハナコ") == {sato.id}  # every word must match


def test_resident_list_filters_by_district_and_paginates(staff_client, catalogue):
    for n in range(30):
        factories.resident(given_name=f"名{n}", district="北町" if n % 2 else "南町")
    db.session.commit()
    html = staff_client.get("/admin/residents/", query_string={"district": "北町"},
                            headers=EN).get_data(as_text=True)
    assert "15 residents" in html and "南町" not in html.split("<tbody>")[1]
    html = staff_client.get("/admin/residents/", headers=EN).get_data(as_text=True)
    assert "Page 1 of 2" in html


def test_resident_list_query_count_is_flat(staff_client, catalogue, count_queries):
    def queries():
        with count_queries() as counter:
            assert staff_client.get("/admin/residents/").status_code == 200
        return counter.count

    for _ in range(3):
        factories.resident(user_id=None)
    db.session.commit()
    few = queries()
    for _ in range(40):
        factories.resident()
    db.session.commit()
    assert queries() == few


def test_viewing_a_resident_is_audited(staff_client, users, catalogue):
    who = factories.resident()
    db.session.commit()
    assert staff_client.get(f"/admin/residents/{who.id}").status_code == 200
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "resident.view"))
    assert entry.actor_id == users["staff"].id and entry.target_id == str(who.id)


def test_staff_see_only_their_departments_usage(staff_client, manager_client, catalogue):
    who = factories.resident()
    factories.events(who, "library-loans", 2, note="library note")
    factories.events(who, "cancer-screening", 1, note="health note")
    db.session.commit()
    staff_html = staff_client.get(f"/admin/residents/{who.id}", headers=EN).get_data(
        as_text=True)
    assert "library note" in staff_html and "health note" not in staff_html
    assert factories.service("cancer-screening").name_en not in staff_html
    # guessing the filter URL does not help
    guessed = staff_client.get(f"/admin/residents/{who.id}", headers=EN, query_string={
        "service": factories.service("cancer-screening").id}).get_data(as_text=True)
    assert "health note" not in guessed
    manager_html = manager_client.get(f"/admin/residents/{who.id}", headers=EN).get_data(
        as_text=True)
    assert "library note" in manager_html and "health note" in manager_html


def test_timeline_filters_by_service_and_channel(manager_client, catalogue):
    who = factories.resident()
    factories.events(who, "library-loans", 1, channel="online", note="online loan")
    factories.events(who, "library-loans", 1, channel="counter", note="counter loan")
    factories.events(who, "waste-sorting-app", 1, channel="mobile", note="app use")
    db.session.commit()
    html = manager_client.get(f"/admin/residents/{who.id}", query_string={
        "service": factories.service("library-loans").id, "channel": "online"}).get_data(
        as_text=True)
    assert "online loan" in html and "counter loan" not in html and "app use" not in html


def test_360_query_count_does_not_grow_with_history(manager_client, catalogue, count_queries):
    who = factories.resident()
    factories.events(who, "library-loans", 5)
    db.session.commit()

    def queries():
        with count_queries() as counter:
            assert manager_client.get(f"/admin/residents/{who.id}").status_code == 200
        return counter.count

    few = queries()
    for slug in ("waste-sorting-app", "sports-facility-booking", "tax-certificate"):
        factories.events(who, slug, 330)
    db.session.commit()
    assert queries() == few


def test_counter_entry_records_a_use(staff_client, users, catalogue):
    who = factories.resident()
    db.session.commit()
    loans = factories.service("library-loans")
    response = staff_client.post(f"/admin/residents/{who.id}/usage", data={
        "service_id": loans.id, "channel": "phone", "kind": "renewal", "note": "by phone"},
        headers=EN, follow_redirects=True)
    assert "Recorded:" in response.get_data(as_text=True)
    event = db.session.scalar(select(UsageEvent).where(UsageEvent.resident_id == who.id))
    assert (event.channel, event.kind, event.source, event.recorded_by_id) == (
        "phone", "renewal", "staff", users["staff"].id)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "usage.record"))


def test_counter_entry_refuses_bad_input(staff_client, catalogue):
    who = factories.resident()
    db.session.commit()
    loans = factories.service("library-loans")
    future = staff_client.post(f"/admin/residents/{who.id}/usage", data={
        "service_id": loans.id, "channel": "counter", "occurred_at": "2099-01-01T10:00"},
        headers=EN)
    assert future.status_code == 400
    assert "This time is in the future." in future.get_data(as_text=True)
    bad_channel = staff_client.post(f"/admin/residents/{who.id}/usage", data={
        "service_id": loans.id, "channel": "carrier-pigeon"}, headers=EN)
    assert "Not a valid choice" in bad_channel.get_data(as_text=True)
    # another department's service is not offered, and forcing it is refused
    health = staff_client.post(f"/admin/residents/{who.id}/usage", data={
        "service_id": factories.service("cancer-screening").id, "channel": "counter"},
        headers=EN)
    assert health.status_code in (400, 403)
    assert db.session.scalar(select(func.count()).select_from(UsageEvent)) == 0


def test_linking_a_registered_account_merges_the_self_registered_record(
        staff_client, client, catalogue):
    register_resident(client, display_name="Aoi", email="aoi@example.org",
                      password="green tea at dusk")
    self_record = db.session.scalar(select(Resident).where(Resident.email == "aoi@example.org"))
    self_record.consent_outreach = True
    factories.events(self_record, "library-loans", 1, note="before linking")
    register = factories.resident(family_name="青木", given_name="葵", email=None)
    db.session.commit()
    self_id = self_record.id

    response = staff_client.post(f"/admin/residents/{register.id}/link",
                                 data={"email": "AOI@example.org", **CHECK}, headers=EN,
                                 follow_redirects=True)
    assert "is now linked to this record" in response.get_data(as_text=True)
    db.session.expire_all()
    register = db.session.get(Resident, register.id)
    assert register.user.email == "aoi@example.org"
    assert register.consent_outreach is True  # the resident's own choice is kept
    assert db.session.get(Resident, self_id) is None
    assert db.session.scalar(select(UsageEvent.resident_id)) == register.id
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "resident.link"))
    # the resident now sees the register record on My page
    html = client.get("/my/profile", headers=EN).get_data(as_text=True)
    assert register.external_id in html


def test_linking_refuses_unknown_and_staff_accounts(staff_client, users, catalogue):
    register = factories.resident()
    db.session.commit()
    unknown = staff_client.post(f"/admin/residents/{register.id}/link",
                                data={"email": "ghost@example.org", **CHECK}, headers=EN)
    assert "No account uses this e-mail address." in unknown.get_data(as_text=True)
    staff = staff_client.post(f"/admin/residents/{register.id}/link",
                              data={"email": users["manager"].email, **CHECK}, headers=EN)
    assert "Only resident accounts can be linked" in staff.get_data(as_text=True)


def test_managers_merge_duplicates(manager_client, catalogue):
    keep = factories.resident(phone=None)
    duplicate = factories.resident(external_id=None, phone="090-1111-2222")
    factories.events(duplicate, "library-loans", 4)
    db.session.commit()
    duplicate_id = duplicate.id
    response = manager_client.post(f"/admin/residents/{keep.id}/merge",
                                   data={"other": str(duplicate_id)}, headers=EN,
                                   follow_redirects=True)
    assert "has been merged into this one" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Resident, duplicate_id) is None
    assert db.session.get(Resident, keep.id).phone == "090-1111-2222"
    assert db.session.scalar(select(func.count()).select_from(UsageEvent).where(
        UsageEvent.resident_id == keep.id)) == 4


def test_merging_two_register_records_is_refused(manager_client, catalogue):
    a, b = factories.resident(), factories.resident()
    db.session.commit()
    response = manager_client.post(f"/admin/residents/{a.id}/merge",
                                   data={"other": b.external_id}, headers=EN)
    assert "correct the register instead" in response.get_data(as_text=True)
    assert db.session.get(Resident, b.id) is not None


def test_staff_cannot_merge(staff_client, catalogue):
    a, b = factories.resident(), factories.resident(external_id=None)
    db.session.commit()
    assert staff_client.post(f"/admin/residents/{a.id}/merge",
                             data={"other": str(b.id)}).status_code == 403


def test_officials_see_no_individual_residents(official_client, catalogue):
    who = factories.resident()
    db.session.commit()
    assert official_client.get("/admin/residents/").status_code == 403
    assert official_client.get(f"/admin/residents/{who.id}").status_code == 403


def test_admin_role_sees_everything(admin_client, make_user, catalogue):
    assert Role.ADMIN == "admin"
    who = factories.resident()
    factories.events(who, "cancer-screening", 1, note="visible to admin")
    db.session.commit()
    assert "visible to admin" in admin_client.get(f"/admin/residents/{who.id}").get_data(
        as_text=True)


def test_search_results_are_in_each_residents_access_log(staff_client, catalogue):
    who = factories.resident(family_name="検索")
    db.session.commit()
    staff_client.get("/admin/residents/", query_string={"q": "検索"})
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "resident.list_view", AuditEntry.target_id == str(who.id)))


def test_merge_refuses_absurd_numbers(manager_client, catalogue):
    keep = factories.resident()
    db.session.commit()
    response = manager_client.post(f"/admin/residents/{keep.id}/merge",
                                   data={"other": "9" * 30}, headers=EN)
    assert response.status_code == 400
    assert "No resident record matches" in response.get_data(as_text=True)


def test_linking_keeps_the_residents_refusal_of_scoring(staff_client, client, catalogue):
    from portal.engagement import scoring
    from portal.engagement.models import EngagementScore
    from portal.timeutil import local_today

    register_resident(client, display_name="Ren", email="ren@example.org",
                      password="autumn river stones")  # consents off by default
    register = factories.resident(consent_profiling=True)
    factories.events(register, "library-loans", 2)
    scoring.recompute(local_today())
    db.session.commit()
    staff_client.post(f"/admin/residents/{register.id}/link",
                      data={"email": "ren@example.org", **CHECK})
    db.session.expire_all()
    assert db.session.get(Resident, register.id).consent_profiling is False
    assert db.session.scalar(select(func.count()).select_from(EngagementScore).where(
        EngagementScore.resident_id == register.id)) == 0
