"""Districts are named per locale (with fallback), edited by managers, matched by
either name in import files; residents are greeted by the name form of the
page's language."""

from __future__ import annotations

from email import message_from_bytes, policy

from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.mail.models import OutboundMessage
from portal.residents import districts
from portal.residents.models import District, Resident
from tests import factories

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}


def district(code: str) -> District:
    return db.session.scalar(select(District).where(District.code == code))


def test_the_migration_names_the_districts_in_both_languages(app):
    assert (district("北町").name_ja, district("北町").name_en) == ("北町", "Kitamachi")
    assert len(districts.codes()) == 8


def test_pages_show_the_district_in_the_page_language(manager_client, catalogue):
    resident = factories.resident(district="北町")
    db.session.commit()
    english = manager_client.get(f"/admin/residents/{resident.id}", headers=EN).get_data(
        as_text=True)
    assert "Kitamachi" in english and "北町" not in english.split("<main")[1]
    japanese = manager_client.get(f"/admin/residents/{resident.id}", headers=JA).get_data(
        as_text=True)
    assert "北町" in japanese and "Kitamachi" not in japanese
    listing = manager_client.get("/admin/residents/", query_string={"district": "北町"},
                                 headers=EN).get_data(as_text=True)
    assert '<option selected value="北町">Kitamachi</option>' in listing


def test_a_district_without_an_english_name_falls_back_to_japanese(manager_client,
                                                                  catalogue):
    response = manager_client.post("/admin/residents/districts/new", headers=EN, data={
        "name_ja": " 山の手 ", "name_en": "", "position": "9"}, follow_redirects=True)
    assert "The district 山の手 has been created." in response.get_data(as_text=True)
    created = district("山の手")
    assert (created.name_ja, created.name_en, created.position) == ("山の手", "", 9)
    resident = factories.resident(district="山の手")
    db.session.commit()
    html = manager_client.get(f"/admin/residents/{resident.id}", headers=EN).get_data(
        as_text=True)
    assert "<dd>山の手</dd>" in html
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "district.create"))
    assert entry.actor_id is not None and entry.target_id == str(created.id)


def test_renaming_a_district_keeps_its_residents(manager_client, catalogue):
    resident = factories.resident(district="川辺")
    db.session.commit()
    kawabe = district("川辺")
    response = manager_client.post(f"/admin/residents/districts/{kawabe.id}/edit", headers=EN,
                                   data={"name_ja": "川辺町", "name_en": "Kawabe Town",
                                         "position": "7"}, follow_redirects=True)
    assert "The district Kawabe Town has been saved." in response.get_data(as_text=True)
    db.session.refresh(resident)
    assert resident.district == "川辺"  # the code stays
    html = manager_client.get(f"/admin/residents/{resident.id}", headers=JA).get_data(
        as_text=True)
    assert "<dd>川辺町</dd>" in html


def test_the_district_form_refuses_a_name_in_use(manager_client, catalogue):
    response = manager_client.post("/admin/residents/districts/new", headers=EN, data={
        "name_ja": "北町", "name_en": "North"})
    assert response.status_code == 200
    assert "Another district already has this name." in response.get_data(as_text=True)
    assert db.session.scalar(select(District).where(District.name_en == "North")) is None


def test_staff_cannot_edit_districts(staff_client, catalogue):
    assert staff_client.get("/admin/residents/districts").status_code == 403
    kitamachi = district("北町")
    assert staff_client.post(f"/admin/residents/districts/{kitamachi.id}/edit",
                             data={"name_ja": "x"}).status_code == 403


def test_an_import_may_name_the_district_in_either_language(runner, tmp_path, catalogue):
    path = tmp_path / "residents.csv"
    path.write_text("external_id,family_name,given_name,district\r\n"
                    "R1,林,一,Kitamachi\r\nR2,林,二,ｷﾀﾏﾁ\r\nR3,林,三,南町\r\nR4,林,四,minamimachi\r\n",
                    encoding="utf-8")
    result = runner.invoke(args=["import", "residents", str(path), "--skip-bad"])
    assert "unknown district ｷﾀﾏﾁ" in result.output  # kana is not a name of the district
    found = dict(db.session.execute(select(Resident.external_id, Resident.district)).all())
    assert found == {"R1": "北町", "R3": "南町", "R4": "南町"}


def test_eligibility_rules_and_filters_name_districts_in_the_page_language(manager_client,
                                                                           catalogue):
    html = manager_client.get("/admin/services/new", headers=EN).get_data(as_text=True)
    assert "Sakuragaoka" in html and 'value="桜ヶ丘"' in html
    station = factories.service("recycling-station")
    assert station.eligibility["districts"] == ["川辺", "緑町"]
    page = manager_client.get(f"/services/{station.slug}", headers=EN).get_data(as_text=True)
    assert "Living in: Kawabe, Midorimachi" in page


# ---- greeting by the name form of the page's language ----------------------------

def test_residents_are_greeted_by_the_name_form_of_the_page(resident_client, users, catalogue):
    factories.resident(user_id=users["resident"].id, family_name="佐藤", given_name="花子",
                       name_latin="Hanako Sato")
    db.session.commit()
    english = resident_client.get("/my/", headers=EN).get_data(as_text=True)
    assert "Hello, Hanako Sato." in english
    assert '<li class="site-nav__user">Hanako Sato' in english
    japanese = resident_client.get("/my/", headers=JA).get_data(as_text=True)
    assert "佐藤 花子 様、こんにちは。" in japanese
    assert '<li class="site-nav__user">佐藤 花子 様' in japanese
    assert "Hanako" not in japanese.split("<main")[1]
    home = resident_client.get("/", headers=JA).get_data(as_text=True)
    assert "佐藤 花子 様、こんにちは。" in home


def test_without_a_latin_name_english_pages_use_the_registered_name(resident_client, users,
                                                                    catalogue):
    factories.resident(user_id=users["resident"].id, family_name="佐藤", given_name="花子")
    db.session.commit()
    assert "Hello, 佐藤 花子." in resident_client.get("/my/", headers=EN).get_data(as_text=True)


def mail_body(outbox_dir, message: OutboundMessage) -> str:
    path = outbox_dir / f"{message.created_at:%Y%m%dT%H%M%S}-{message.id}.eml"
    return message_from_bytes(path.read_bytes(), policy=policy.default).get_body().get_content()


def test_e_mails_greet_residents_in_their_language(client, users, catalogue, outbox_dir):
    user = users["resident"]
    user.locale = "en"
    factories.resident(user_id=user.id, family_name="佐藤", given_name="花子",
                       name_latin="Hanako Sato")
    db.session.commit()
    client.post("/account/forgot-password", data={"email": user.email})
    mail = db.session.scalar(select(OutboundMessage).order_by(OutboundMessage.id.desc()))
    assert mail_body(outbox_dir, mail).startswith("Hello Hanako Sato,")
    user.locale = "ja"
    db.session.commit()
    client.post("/account/forgot-password", data={"email": user.email})
    mail = db.session.scalar(select(OutboundMessage).order_by(OutboundMessage.id.desc()))
    assert mail_body(outbox_dir, mail).startswith("佐藤 花子 様")


def test_staff_are_named_by_their_display_name(staff_client, users):
    html = staff_client.get("/admin/", headers=JA).get_data(as_text=True)
    assert f'<li class="site-nav__user">{users["staff"].display_name}' in html
    assert "様" not in html.split('class="site-nav__user">')[1].split("</li>")[0]


def test_a_new_district_without_a_position_goes_to_the_end(manager_client, catalogue):
    manager_client.post("/admin/residents/districts/new", data={"name_ja": "港町"})
    assert districts.codes()[-1] == "港町" and district("港町").position == 9
