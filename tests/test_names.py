"""Names are stored in the form the search looks for (attack review 7): half-width
kana from a register file, hiragana readings, full-width Latin letters."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import select, text

from portal.app import create_app
from portal.extensions import db
from portal.residents.models import Resident
from portal.residents.names import normalise_name
from tests import factories
from tests.conftest import TEST_PASSWORD, register

EN = {"Accept-Language": "en"}
HEADER = "external_id,family_name,given_name,family_name_kana,given_name_kana,name_latin"


def test_normalise_name():
    assert normalise_name("ｻﾄｳ　ﾊﾅｺ") == "サトウ ハナコ"
    assert normalise_name("ｶﾞｯｺｳ") == "ガッコウ"
    assert normalise_name("さとう", kana=True) == "サトウ"
    assert normalise_name("さとう") == "さとう"  # only readings are folded to katakana
    assert normalise_name("  Ｈａｎａｋｏ   Ｓａｔｏ ") == "Hanako Sato"


def test_half_width_kana_from_a_register_file_is_found_by_every_kana_search(
        runner, tmp_path, staff_client, catalogue):
    path = tmp_path / "residents.csv"
    rows = [HEADER, "R900,佐藤,花子,ｻﾄｳ,ﾊﾅｺ,Ｈａｎａｋｏ Ｓａｔｏ", "R901,鈴木,一郎,ｽｽﾞｷ,ｲﾁﾛｳ,"]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp932"))
    result = runner.invoke(args=["import", "residents", str(path)])
    assert result.exit_code == 0, result.output
    hanako = db.session.scalar(select(Resident).where(Resident.external_id == "R900"))
    assert (hanako.family_name_kana, hanako.given_name_kana) == ("サトウ", "ハナコ")
    assert hanako.name_latin == "Hanako Sato"
    link = f'href="/admin/residents/{hanako.id}"'
    for query in ("サトウ ハナコ", "ｻﾄｳ ﾊﾅｺ", "さとう", "サトウハナコ", "hanako"):
        html = staff_client.get("/admin/residents/", query_string={"q": query},
                                headers=EN).get_data(as_text=True)
        assert link in html, query
    ichiro = db.session.scalar(select(Resident.family_name_kana).where(
        Resident.external_id == "R901"))
    assert ichiro == "スズキ"


def test_the_profile_and_registration_store_the_same_form(client, catalogue):
    register(client, display_name="Ａｏｉ", email="aoi@example.org", password=TEST_PASSWORD)
    own = db.session.scalar(select(Resident).where(Resident.email == "aoi@example.org"))
    assert own.given_name == "Aoi"
    client.post("/my/profile", data={"given_name": "葵", "family_name": "青木",
                                     "family_name_kana": "ｱｵｷ", "given_name_kana": "あおい",
                                     "preferred_locale": "en"})
    db.session.expire_all()
    own = db.session.get(Resident, own.id)
    assert (own.family_name_kana, own.given_name_kana) == ("アオキ", "アオイ")


def test_a_long_display_name_fits_the_record(client, catalogue):
    name = "寿限無" * 40  # 120 characters: allowed for the account, the record keeps 80
    response = register(client, display_name=name, email="long@example.org",
                        password=TEST_PASSWORD, locale="ja")
    assert response.status_code == 302
    own = db.session.scalar(select(Resident).where(Resident.email == "long@example.org"))
    assert own.given_name == name[:80]


def test_the_profile_checks_lengths_after_normalising(client, catalogue):
    register(client, display_name="Aoi", email="aoi@example.org", password=TEST_PASSWORD)
    # 150 half-width kana with voiced marks: 300 characters typed, 150 stored (limit 120)
    response = client.post("/my/profile", data={"given_name": "Aoi",
                                                "family_name_kana": "ｶﾞ" * 150,
                                                "preferred_locale": "en"}, headers=EN)
    assert response.status_code == 200
    assert "Field cannot be longer than 120 characters." in response.get_data(as_text=True)
    fits = client.post("/my/profile", data={"given_name": "Aoi", "family_name_kana": "ｶﾞ" * 100,
                                            "preferred_locale": "en"})
    assert fits.status_code == 302
    own = db.session.scalar(select(Resident).where(Resident.email == "aoi@example.org"))
    assert own.family_name_kana == "ガ" * 100


def test_the_data_download_is_never_stored(resident_client, users, catalogue):
    factories.resident(user_id=users["resident"].id)
    db.session.commit()
    response = resident_client.post("/my/data/export")
    assert response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_stay_cacheable_for_signed_in_users(resident_client):
    response = resident_client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"


def test_the_migration_normalises_existing_names_and_marks_linked_addresses(tmp_path):
    """Rows written before the migration: names in the stored form afterwards; a linked
    register record's address equal to its account's counts as the resident's."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.db",
                                 "INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        upgrade(revision="5e1f0c2a7b3d")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, email, password_hash, display_name, role, active, "
                "session_nonce, created_at) VALUES (1, 'a@example.org', '!', 'A', "
                "'resident', 1, 'n', '2026-01-01')"))
            conn.execute(text(
                "INSERT INTO residents (id, external_id, family_name, given_name, "
                "family_name_kana, given_name_kana, name_latin, email, preferred_locale, "
                "preferred_channels, consent_outreach, consent_profiling, do_not_contact, "
                "user_id, created_at, updated_at) VALUES "
                "(1, 'R1', '佐藤', '花子', 'ｻﾄｳ', 'はなこ', 'Ｓａｔｏ', 'a@example.org', 'ja', "
                "'[]', 0, 1, 0, 1, '2026-01-01', '2026-01-01'), "
                "(2, 'R2', '鈴木', '一郎', 'スズキ', 'イチロウ', '', 'x@example.org', 'ja', "
                "'[]', 0, 1, 0, NULL, '2026-01-01', '2026-01-01')"))
        upgrade(revision="c4e7a1d2b9f0")
        with db.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT id, family_name_kana, given_name_kana, name_latin, self_supplied "
                "FROM residents ORDER BY id")).all()
        db.engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, "サトウ", "ハナコ", "Sato", '["email"]'), (2, "スズキ", "イチロウ", "", "[]")]
