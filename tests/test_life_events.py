"""Life events: ``portal import life-events FILE``, the console import, the JSON API
and the 360° page."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.api import tokens
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.imports.models import ImportBatch, ImportStatus
from portal.residents.models import LifeEvent, Resident
from portal.timeutil import local_today, utcnow
from tests import factories

EN = {"Accept-Language": "en"}
HEADER = "external_id,event,date,note"
ROWS = ["R001,moved_in,2026-04-01,", "R002,child_born,2026-10-02,第二子",
        "R003,TURNED_65,2026-06-30,"]


def count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(LifeEvent).where(*where))


@pytest.fixture
def people(catalogue):
    residents = [Resident(external_id=f"R00{n}", family_name="山田", given_name=f"{n}")
                 for n in (1, 2, 3)]
    residents.append(Resident(external_id="R-GONE", anonymised_at=utcnow()))
    db.session.add_all(residents)
    db.session.commit()
    return {r.external_id: r for r in residents}


def write(tmp_path, rows, name="life.csv"):
    path = tmp_path / name
    path.write_text("\r\n".join([HEADER, *rows]) + "\r\n", encoding="utf-8")
    return path


def run(runner, path, *options):
    return runner.invoke(args=["import", "life-events", str(path), *options])


def test_good_file_is_imported_once_and_the_second_time_changes_nothing(runner, tmp_path,
                                                                        people):
    path = write(tmp_path, ROWS)
    first = run(runner, path)
    assert first.exit_code == 0, first.output
    assert "rows: 3, created: 3, updated: 0, duplicates: 0, bad: 0" in first.output
    events = db.session.scalars(select(LifeEvent).order_by(LifeEvent.resident_id)).all()
    assert [(e.resident_id, e.kind, e.occurred_on, e.note, e.source) for e in events] == [
        (people["R001"].id, "moved_in", date(2026, 4, 1), None, "import"),
        (people["R002"].id, "child_born", date(2026, 10, 2), "第二子", "import"),
        (people["R003"].id, "turned_65", date(2026, 6, 30), None, "import")]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import.apply"))
    assert entry.data["kind"] == "life-events" and entry.data["created"] == 3

    second = run(runner, path)
    assert second.exit_code == 0
    assert "created: 0, updated: 0, duplicates: 3" in second.output
    assert "Nothing changed: every row was imported before." in second.output
    assert count() == 3


def test_bad_rows_are_reported_by_row_and_nothing_is_imported(runner, tmp_path, people):
    future = (local_today() + timedelta(days=2)).isoformat()
    path = write(tmp_path, [
        "R001,moved_in,2026-04-01,",
        "R404,moved_in,2026-04-01,",
        "R002,born,2026-04-01,",
        "R003,child_born,2026-02-30,",
        f"R003,moved_in,{future},",
        "R-GONE,moved_in,2026-04-01,",
        ",moved_in,,",
        "R001,moved_in,2026-04-01,",
        "R002,moved_in,2026/04/01,",
        "R002,moved_in,2026-04-03," + "x" * 301,
    ])
    report = tmp_path / "problems.csv"
    result = run(runner, path, "--report", report)
    assert result.exit_code == 1
    output = result.output
    assert "row 3, column external_id: no resident with the external id R404" in output
    assert ("row 4, column event: unknown life event born; use one of moved_in, child_born, "
            "turned_65") in output
    assert "row 5, column date: not a valid date: 2026-02-30" in output
    assert f"row 6, column date: the date is in the future: {future}" in output
    assert "row 7, column external_id: resident record was deleted" in output
    assert "row 8, column external_id: a value is required" in output
    assert "row 8, column date: a value is required" in output
    assert "row 9: R001 moved_in 2026-04-01 appears already in row 2" in output
    assert "row 10, column date: not a valid date: 2026/04/01" in output
    assert "row 11, column note: longer than 300 characters" in output
    assert "Nothing was imported: 9 bad rows" in output
    assert count() == 0
    assert report.read_text(encoding="utf-8").startswith("row,column,reason")

    skipped = run(runner, path, "--skip-bad")
    assert skipped.exit_code == 0 and "(9 bad rows skipped)" in skipped.output
    assert count() == 1


def test_header_problems_stop_the_file(runner, tmp_path, people):
    path = tmp_path / "life.csv"
    path.write_text("external_id,when\nR001,2026-01-01\n", encoding="utf-8")
    result = run(runner, path)
    assert result.exit_code == 1
    assert "missing required columns: event, date; unknown columns: when" in result.output


def test_console_upload_check_and_confirm(manager_client, people):
    page = manager_client.get("/admin/imports/", headers=EN).get_data(as_text=True)
    assert "Life events" in page and "<code>event</code>" in page
    content = ("\r\n".join([HEADER, *ROWS]) + "\r\n").encode("utf-8")
    # the kind is recognised from the header: choosing residents is refused
    wrong = manager_client.post("/admin/imports/", headers=EN, content_type="multipart/form-data",
                                data={"kind": "residents", "file": (io.BytesIO(content), "l.csv")})
    assert "has the columns of a “Life events” file" in wrong.get_data(as_text=True)
    response = manager_client.post(
        "/admin/imports/", headers=EN, content_type="multipart/form-data",
        data={"kind": "life-events", "file": (io.BytesIO(content), "life.csv")})
    assert response.status_code == 302
    batch = db.session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))
    assert batch.kind == "life-events" and batch.status == ImportStatus.CHECKED
    assert batch.counts["created"] == 3 and count() == 0
    html = manager_client.get(f"/admin/imports/{batch.id}", headers=EN).get_data(as_text=True)
    assert "child_born" in html and "Life events" in html
    manager_client.post(f"/admin/imports/{batch.id}/confirm", headers=EN)
    db.session.refresh(batch)
    assert batch.status == ImportStatus.APPLIED and count() == 3


# --- the JSON API -----------------------------------------------------------------------

@pytest.fixture
def token(users, catalogue):
    def make(code="citizens"):
        _token, value = tokens.create_token(actor=users["admin"], name="Register",
                                            departments=[catalogue[code]])
        db.session.commit()
        return value
    return make


def post(client, value, body):
    return client.post("/api/v1/life-events", json=body,
                       headers={**EN, "Authorization": f"Bearer {value}"})


def test_api_records_life_events_once(client, token, people):
    value = token()
    body = {"life_events": [
        {"resident_external_id": "R001", "event": "child_born", "date": "2026-10-02",
         "note": "twins"},
        {"resident_external_id": "R001", "event": "child_born", "date": "2026-10-02"},
        {"resident_external_id": "R404", "event": "moved_in", "date": "2026-10-02"},
        {"resident_external_id": "R002", "event": "born", "date": "2026-10-02"},
        {"resident_external_id": "R002", "event": "moved_in", "date": "2026-13-02"},
        {"resident_external_id": "R002", "event": "moved_in",
         "date": (local_today() + timedelta(days=3)).isoformat()},
        {"resident_external_id": "R002", "event": "moved_in"},
        {"resident_external_id": "R-GONE", "event": "moved_in", "date": "2026-01-02"},
        "not an object",
    ]}
    response = post(client, value, body)
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["created", "duplicate"] + ["rejected"] * 7
    assert [r.get("reason") for r in results[2:]] == [
        "unknown_resident", "invalid_event", "invalid_value", "date_in_future",
        "missing_field", "unknown_resident", "wrong_type"]
    assert response.get_json()["summary"] == {"created": 1, "duplicate": 1, "rejected": 7}
    event = db.session.scalar(select(LifeEvent))
    assert (event.kind, event.occurred_on, event.note, event.source) == (
        "child_born", date(2026, 10, 2), "twins", "api")
    again = post(client, value, {"life_events": body["life_events"][:1]})
    assert again.get_json()["summary"] == {"created": 0, "duplicate": 1, "rejected": 0}
    assert count() == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "api.life_events")) == 2


def test_api_only_the_registers_tokens_and_whole_request_errors(client, token, people):
    library = token("library")
    refused = post(client, library, {"life_events": [
        {"resident_external_id": "R001", "event": "moved_in", "date": "2026-01-02"}]})
    assert refused.status_code == 403 and refused.get_json()["error"]["status"] == 403
    value = token()
    assert post(client, value, {"events": []}).status_code == 400
    assert post(client, value, {"life_events": []}).status_code == 400
    assert client.post("/api/v1/life-events", json={}).status_code == 401
    assert count() == 0


def test_openapi_documents_life_events(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    post_ = doc["paths"]["/life-events"]["post"]
    assert set(post_["responses"]) == {"200", "400", "401", "403", "413", "429"}
    schema = doc["components"]["schemas"]["LifeEvent"]
    assert schema["properties"]["event"]["enum"] == ["moved_in", "child_born", "turned_65"]


# --- the 360° page ----------------------------------------------------------------------

def test_360_page_lists_the_life_events(staff_client, catalogue):
    who = factories.resident()
    db.session.add_all([
        LifeEvent(resident_id=who.id, kind="moved_in", occurred_on=date(2025, 4, 1),
                  source="import"),
        LifeEvent(resident_id=who.id, kind="child_born", occurred_on=date(2026, 10, 2),
                  source="api", note="第二子")])
    db.session.commit()
    html = staff_client.get(f"/admin/residents/{who.id}", headers=EN).get_data(as_text=True)
    assert "Life events" in html
    assert html.index("Child born") < html.index("Moved in")
    assert "第二子" in html and "child_born" not in html
    other = factories.resident()
    db.session.commit()
    html = staff_client.get(f"/admin/residents/{other.id}", headers=EN).get_data(as_text=True)
    assert "No life events recorded." in html
