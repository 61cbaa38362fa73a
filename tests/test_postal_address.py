"""Postal code and address of residents: the register import, the resident's own
profile, the 360° page and the resident's data export."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.residents.models import Resident
from portal.residents.postal import PostalCodeError, normalise_postal_code
from tests import factories
from tests.test_my_page import my_record, profile_data

EN = {"Accept-Language": "en"}
HEADER = "external_id,family_name,given_name,postal_code,address"


@pytest.mark.parametrize("typed", ["123-4567", "1234567", "〒123-4567", "〒 1234567",
                                   "１２３－４５６７", "〒１２３４５６７", " 123ー4567 "])
def test_what_people_type_is_stored_as_123_4567(typed):
    assert normalise_postal_code(typed) == "123-4567"


@pytest.mark.parametrize("typed", ["12-34567", "123456", "12345678", "123-456a", "ABC-DEFG",
                                   "١٢٣-٤٥٦٧", "123 4567 8", "tel 123-4567"])
def test_anything_else_is_refused(app, typed):
    with app.test_request_context(headers=EN), pytest.raises(PostalCodeError, match="7 digits"):
        normalise_postal_code(typed)


def test_empty_is_none():
    assert normalise_postal_code("") is None and normalise_postal_code("〒 ") is None


def test_resident_import_reads_postal_code_and_address(runner, tmp_path, catalogue):
    path = tmp_path / "residents.csv"
    path.write_text("\n".join([HEADER,
                               "P1,山田,太郎,〒３００－１２３４,桜川市中央1丁目2-3  メゾン桜 101",
                               "P2,山田,花子,3001235,"]) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import", "residents", str(path)])
    assert result.exit_code == 0, result.output
    one, two = (db.session.scalar(select(Resident).where(Resident.external_id == key))
                for key in ("P1", "P2"))
    assert (one.postal_code, one.address) == ("300-1234", "桜川市中央1丁目2-3 メゾン桜 101")
    assert (two.postal_code, two.address) == ("300-1235", None)


def test_a_bad_postal_code_stops_the_import_with_its_row(runner, tmp_path, catalogue):
    path = tmp_path / "residents.csv"
    path.write_text("\n".join([HEADER, "P1,山田,太郎,300-1234,", "P2,山田,花子,30-01235,"])
                    + "\n", encoding="utf-8")
    result = runner.invoke(args=["import", "residents", str(path)])
    assert result.exit_code == 1
    assert "row 3, column postal_code: not a postal code: 30-01235" in result.output
    assert db.session.scalar(select(Resident).where(Resident.external_id == "P1")) is None


def test_the_resident_edits_their_postal_address(resident_client, users, catalogue):
    me = my_record(users)
    db.session.commit()
    response = resident_client.post("/my/profile", headers=EN, follow_redirects=True,
                                    data=profile_data(postal_code="１２３４５６７",
                                                      address="桜川市北町3-4-5"))
    assert "Your profile has been saved." in response.get_data(as_text=True)
    db.session.refresh(me)
    assert (me.postal_code, me.address) == ("123-4567", "桜川市北町3-4-5")
    html = resident_client.post("/my/profile", headers=EN,
                                data=profile_data(postal_code="12-3")).get_data(as_text=True)
    assert "Enter the postal code as 7 digits, e.g. 123-4567." in html
    db.session.refresh(me)
    assert me.postal_code == "123-4567"


def test_360_page_and_export_show_the_address(staff_client, resident_client, users, catalogue):
    who = factories.resident(postal_code="300-1234", address="桜川市中央1丁目2-3")
    db.session.commit()
    html = staff_client.get(f"/admin/residents/{who.id}", headers=EN).get_data(as_text=True)
    assert "Postal address" in html and "〒300-1234" in html and "桜川市中央1丁目2-3" in html

    me = my_record(users)
    me.postal_code, me.address = "300-9999", "桜川市南町1-1"
    db.session.commit()
    archive = zipfile.ZipFile(io.BytesIO(resident_client.post("/my/data/export").data))
    profile = json.loads(archive.read("profile.json"))
    assert profile["resident"]["postal_code"] == "300-9999"
    assert profile["resident"]["address"] == "桜川市南町1-1"
