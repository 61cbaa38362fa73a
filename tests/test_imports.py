"""CSV import of residents and usage events: command line and console."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.imports.models import ImportBatch, ImportStatus
from portal.residents.models import Household, Resident
from portal.services.models import EventSource, UsageEvent
from portal.timeutil import utcnow

EN = {"Accept-Language": "en"}
RESIDENT_HEADER = ("external_id,family_name,given_name,family_name_kana,given_name_kana,"
                   "name_latin,birth_year,district,household_id,email,phone,preferred_locale,"
                   "consent_outreach,consent_profiling,do_not_contact")
EVENT_HEADER = "event_id,resident_external_id,service,occurred_at,channel,kind,note"
RESIDENT_ROWS = [
    "R001,山田,太郎,ヤマダ,タロウ,Taro Yamada,1956,中央,H01,taro@example.jp,0297-11-2233,ja,"
    "yes,yes,no",
    "R002,山田,花子,ヤマダ,ハナコ,,1960,中央,H01,,,en,1,0,0",
    "R003,佐藤,健,サトウ,ケン,,,北町,,,,,,,",
]
EVENT_ROWS = [
    "E1,R001,library-loans,2026-03-02T10:15:00+09:00,counter,use,予約本の受け取り",
    "E2,R002,LIB-001,2026-03-05 14:30,online,,",
    "E3,R003,waste-sorting-app,2026-03-07,mobile,renewal,",
]


def csv_bytes(header: str, rows: list[str], encoding: str = "utf-8") -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


def write(tmp_path, name: str, header: str, rows: list[str], encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(csv_bytes(header, rows, encoding))
    return path


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def report_rows(path) -> list[tuple[int, str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(int(r["row"]), r["column"], r["reason"]) for r in csv.DictReader(handle)]


def problems(result_rows) -> list[tuple[int, str]]:
    return [(row, column) for row, column, _ in result_rows]


@pytest.fixture
def people(catalogue):
    """Three residents from the register, as the events files expect."""
    residents = [Resident(external_id=f"R00{n}", family_name="山田", given_name=f"{n}")
                 for n in (1, 2, 3)]
    db.session.add_all(residents)
    db.session.commit()
    return {r.external_id: r for r in residents}


def run(runner, *args):
    return runner.invoke(args=["import", *map(str, args)])


# --- residents on the command line -------------------------------------------------------

def test_cli_imports_residents_with_japanese_names_from_utf8_with_bom(runner, tmp_path,
                                                                      catalogue):
    path = tmp_path / "residents.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_bytes(RESIDENT_HEADER, RESIDENT_ROWS))
    result = run(runner, "residents", path)
    assert result.exit_code == 0, result.output
    assert "rows: 3, created: 3, updated: 0, duplicates: 0, bad: 0" in result.output
    taro = db.session.scalar(select(Resident).where(Resident.external_id == "R001"))
    assert (taro.family_name, taro.given_name, taro.family_name_kana) == ("山田", "太郎", "ヤマダ")
    assert (taro.birth_year, taro.district, taro.email) == (1956, "中央", "taro@example.jp")
    assert taro.consent_outreach and taro.consent_profiling and not taro.do_not_contact
    hanako = db.session.scalar(select(Resident).where(Resident.external_id == "R002"))
    assert hanako.preferred_locale == "en" and not hanako.consent_profiling
    assert hanako.household_id == taro.household_id
    assert taro.household.external_id == "H01" and taro.household.district == "中央"
    ken = db.session.scalar(select(Resident).where(Resident.external_id == "R003"))
    # empty values take the defaults
    assert ken.household_id is None and ken.preferred_locale == "ja"
    assert (ken.consent_outreach, ken.consent_profiling, ken.do_not_contact) == \
        (False, True, False)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import.apply"))
    assert entry.data["created"] == 3 and "3 created" in entry.summary


def test_reimporting_residents_updates_by_external_id_and_adds_nothing(runner, tmp_path,
                                                                      catalogue, make_user):
    path = write(tmp_path, "residents.csv", RESIDENT_HEADER, RESIDENT_ROWS)
    assert run(runner, "residents", path).exit_code == 0
    account = make_user(Role.RESIDENT)
    taro = db.session.scalar(select(Resident).where(Resident.external_id == "R001"))
    taro.user_id = account.id
    taro.consent_outreach = False  # the resident withdrew consent in the portal
    db.session.commit()

    again = run(runner, "residents", path)
    assert "rows: 3, created: 0, updated: 3" in again.output
    assert count(Resident) == 3 and count(Household) == 1
    db.session.expire_all()
    taro = db.session.scalar(select(Resident).where(Resident.external_id == "R001"))
    assert taro.consent_outreach is False  # a resident with an account decides it

    changed = write(tmp_path, "changed.csv", "external_id,family_name,given_name,district",
                    ["R001,山田,太一,南町"])
    assert run(runner, "residents", changed).exit_code == 0
    db.session.expire_all()
    taro = db.session.scalar(select(Resident).where(Resident.external_id == "R001"))
    assert taro.given_name == "太一" and taro.district == "南町"
    assert taro.user_id == account.id  # never overwritten
    assert taro.email == "taro@example.jp"  # a column the file leaves out stays as it was
    assert taro.family_name_kana == "ヤマダ"


def test_residents_with_bad_values_are_reported_and_nothing_is_written(runner, tmp_path,
                                                                       catalogue):
    rows = [
        "R001,山田,太郎,,,,1956,中央,,,,,,,",   # good
        "R002,,花子,,,,1899,中央,,,,,,,",       # missing family name, birth year too early
        "R003,佐藤,健,,,,19a0,北区,,not-an-email,,fr,maybe,,",
        "R001,山田,次郎,,,,2999,,,,,,,,",       # duplicate key, birth year in the future
    ]
    path = write(tmp_path, "residents.csv", RESIDENT_HEADER, rows)
    report = tmp_path / "report.csv"
    result = run(runner, "residents", path, "--report", report)
    assert result.exit_code == 1
    assert "bad: 3" in result.output
    assert "row 3, column family_name: a value is required" in result.output
    found = report_rows(report)
    assert problems(found) == [
        (3, "family_name"), (3, "birth_year"),
        (4, "birth_year"), (4, "district"), (4, "email"), (4, "preferred_locale"),
        (4, "consent_outreach"),
        (5, "external_id"), (5, "birth_year")]
    reasons = " | ".join(reason for _, _, reason in found)
    for words in ("a value is required", "not a birth year: 1899", "unknown district 北区",
                  "not a valid e-mail address: not-an-email", "unknown language fr",
                  "not a yes/no value: maybe", "R001 appears already in row 2"):
        assert words in reasons
    assert count(Resident) == 0


def test_erased_residents_are_not_brought_back(runner, tmp_path, catalogue):
    db.session.add(Resident(external_id="R001", family_name="", given_name="",
                            anonymised_at=utcnow()))
    db.session.commit()
    path = write(tmp_path, "residents.csv", RESIDENT_HEADER, RESIDENT_ROWS[:2])
    result = run(runner, "residents", path, "--skip-bad")
    assert result.exit_code == 0
    assert ("row 2, column external_id: resident record was deleted at the resident's "
            "request") in result.output
    erased = db.session.scalar(select(Resident).where(Resident.external_id == "R001"))
    assert erased.family_name == "" and count(Resident) == 2


def test_residents_dry_run_writes_nothing(runner, tmp_path, catalogue):
    path = write(tmp_path, "residents.csv", RESIDENT_HEADER, RESIDENT_ROWS)
    result = run(runner, "residents", path, "--dry-run")
    assert result.exit_code == 0
    assert "created: 3" in result.output and "nothing was written" in result.output
    assert count(Resident) == 0 and count(Household) == 0


# --- events on the command line ----------------------------------------------------------

def test_cli_imports_events_from_shift_jis(runner, tmp_path, people):
    path = write(tmp_path, "events-sjis.csv", EVENT_HEADER, EVENT_ROWS, encoding="cp932")
    result = run(runner, "events", path)
    assert result.exit_code == 0, result.output
    assert "rows: 3, created: 3, updated: 0, duplicates: 0, bad: 0" in result.output
    events = {e.idempotency_key: e for e in db.session.scalars(select(UsageEvent))}
    assert events["E1"].note == "予約本の受け取り"
    assert events["E1"].source == EventSource.IMPORT
    assert events["E1"].resident_id == people["R001"].id
    assert events["E1"].occurred_at == datetime(2026, 3, 2, 1, 15, tzinfo=UTC)
    # without an offset: local time (Asia/Tokyo); a date alone is local midnight
    assert events["E2"].occurred_at == datetime(2026, 3, 5, 5, 30, tzinfo=UTC)
    assert events["E3"].occurred_at == datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    assert events["E2"].service.slug == "library-loans"  # by its Open311 code
    assert (events["E2"].kind, events["E3"].kind) == ("use", "renewal")
    assert events["E3"].channel == "mobile" and events["E2"].note is None


def test_events_from_utf8_with_bom_and_a_forced_encoding(runner, tmp_path, people):
    path = tmp_path / "events.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_bytes(EVENT_HEADER, EVENT_ROWS))
    assert run(runner, "events", path, "--encoding", "utf-8").exit_code == 0
    assert count(UsageEvent) == 3

    sjis = write(tmp_path, "sjis.csv", EVENT_HEADER, EVENT_ROWS, encoding="cp932")
    result = run(runner, "events", sjis, "--encoding", "utf-8")
    assert result.exit_code == 1
    assert "row 1: the file is not readable as UTF-8;" in result.output


def test_undecodable_file_names_the_encodings_tried(runner, tmp_path, people):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"event_id\r\n\x81\xff\xfe\x80\r\n")
    result = run(runner, "events", path)
    assert result.exit_code == 1
    assert "the file is not readable as UTF-8 / Shift_JIS (CP932)" in result.output


BAD_EVENTS = [
    ("E10,R001,library-loans,2026-02-30 10:00,counter,,", "occurred_at",
     "not a valid date and time: 2026-02-30 10:00"),
    ("E11,R001,library-loans,2999-01-01,counter,,", "occurred_at",
     "the time is in the future: 2999-01-01"),
    ("E12,R001,library-loans,2026-01-05,fax,,", "channel", "unknown channel fax"),
    ("E13,R001,swimming,2026-01-05,counter,,", "service", "unknown service swimming"),
    ("E14,R999,library-loans,2026-01-05,counter,,", "resident_external_id",
     "no resident with the external id R999"),
    ("E1,R002,library-loans,2026-01-05,counter,,", "event_id", "E1 appears already in row 2"),
    (",R001,library-loans,2026-01-05,counter,,", "event_id", "a value is required"),
    ("E15,R001,library-loans,2026-01-05,counter,," + "x" * 501, "note",
     "longer than 500 characters"),
]


def test_every_bad_event_is_reported_with_row_column_and_reason(runner, tmp_path, people):
    rows = [EVENT_ROWS[0], *(row for row, _, _ in BAD_EVENTS), EVENT_ROWS[2]]
    path = write(tmp_path, "events.csv", EVENT_HEADER, rows)
    report = tmp_path / "problems.csv"
    result = run(runner, "events", path, "--report", report)
    assert result.exit_code == 1
    assert "bad: 8" in result.output and "Nothing was imported" in result.output
    found = report_rows(report)
    expected = sorted((number + 3, column) for number, (_, column, _) in enumerate(BAD_EVENTS))
    assert problems(found) == expected
    for (_, _, reason), (_, _, words) in zip(found, sorted(
            BAD_EVENTS, key=lambda bad: rows.index(bad[0])), strict=True):
        assert words in reason
    assert count(UsageEvent) == 0  # nothing written while any row is bad


def test_required_columns_missing_values_and_resident_erased(runner, tmp_path, people):
    people["R003"].anonymised_at = utcnow()
    db.session.commit()
    rows = ["E1,,library-loans,,,,", "E2,R003,library-loans,2026-01-05,counter,,"]
    path = write(tmp_path, "events.csv", EVENT_HEADER, rows)
    result = run(runner, "events", path)
    assert "row 2, column resident_external_id: a value is required" in result.output
    assert "row 2, column occurred_at: a value is required" in result.output
    assert "row 2, column channel: a value is required" in result.output
    assert ("row 3, column resident_external_id: resident record was deleted at the "
            "resident's request") in result.output


def test_skip_bad_writes_only_the_good_rows(runner, tmp_path, people):
    rows = [EVENT_ROWS[0], BAD_EVENTS[0][0], BAD_EVENTS[4][0], EVENT_ROWS[1]]
    path = write(tmp_path, "events.csv", EVENT_HEADER, rows)
    result = run(runner, "events", path, "--skip-bad")
    assert result.exit_code == 0, result.output
    assert "created: 2" in result.output and "bad: 2" in result.output
    assert set(db.session.scalars(select(UsageEvent.idempotency_key))) == {"E1", "E2"}


def test_reimporting_events_adds_nothing(runner, tmp_path, people):
    path = write(tmp_path, "events.csv", EVENT_HEADER, EVENT_ROWS)
    run(runner, "events", path)
    again = run(runner, "events", path)
    assert again.exit_code == 0
    assert "created: 0, updated: 0, duplicates: 3" in again.output
    assert count(UsageEvent) == 3


def test_events_dry_run_writes_nothing(runner, tmp_path, people):
    path = write(tmp_path, "events.csv", EVENT_HEADER, EVENT_ROWS)
    result = run(runner, "events", path, "--dry-run")
    assert result.exit_code == 0 and "created: 3" in result.output
    assert count(UsageEvent) == 0


def test_header_problems_are_one_file_error(runner, tmp_path, people):
    path = write(tmp_path, "events.csv", "Resident_External_ID,service,colour,event_id",
                 ["R001,library-loans,red,E1"])
    result = run(runner, "events", path)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("  row ")]
    assert lines == ["  row 1: missing required columns: occurred_at, channel; "
                     "unknown columns: colour"]

    reordered = write(tmp_path, "reordered.csv", "channel,occurred_at,service,"
                      "resident_external_id,event_id", ["phone,2026-01-05,library-loans,R001,E9"])
    assert run(runner, "events", reordered).exit_code == 0
    assert count(UsageEvent) == 1


def test_empty_file_and_header_only(runner, tmp_path, people):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert "row 1: the file is empty" in run(runner, "events", empty).output
    header_only = write(tmp_path, "header.csv", EVENT_HEADER, [])
    result = run(runner, "events", header_only)
    assert result.exit_code == 1 and "the file has a header but no rows" in result.output


def test_the_first_twenty_problems_are_printed_and_the_report_has_all(runner, tmp_path,
                                                                    people):
    rows = [f"E{n},R001,library-loans,2026-01-05,fax,," for n in range(30)]
    path = write(tmp_path, "events.csv", EVENT_HEADER, rows)
    report = tmp_path / "all.csv"
    result = run(runner, "events", path, "--report", report)
    assert len(re.findall(r"^  row \d+", result.output, re.MULTILINE)) == 20
    assert "and 10 more problems" in result.output
    assert len(report_rows(report)) == 30


def test_unreadable_rows_stop_the_file(runner, tmp_path, people):
    path = tmp_path / "events.csv"
    # e.g. a quote never closed swallows the rest of a long file into one field
    path.write_bytes(csv_bytes(EVENT_HEADER, [EVENT_ROWS[0], 'E2,R002,"' + "x" * 140_000]))
    result = run(runner, "events", path, "--skip-bad")
    assert result.exit_code == 1
    assert "row 3: the file cannot be read as CSV" in result.output
    assert count(UsageEvent) == 0


def test_a_row_with_more_values_than_columns_is_bad(runner, tmp_path, people):
    rows = [EVENT_ROWS[0] + ",extra", EVENT_ROWS[1] + ",,"]
    result = run(runner, "events", write(tmp_path, "events.csv", EVENT_HEADER, rows),
                 "--skip-bad")
    assert "row 2: the row has 8 values but the header has 7 columns" in result.output
    assert set(db.session.scalars(select(UsageEvent.idempotency_key))) == {"E2"}


# --- the console -------------------------------------------------------------------------

def upload(client, kind: str, content: bytes, name: str = "file.csv", skip_bad=False,
           **kwargs):
    data = {"kind": kind, "file": (io.BytesIO(content), name)}
    if skip_bad:
        data["skip_bad"] = "y"
    return client.post("/admin/imports/", data=data, headers=EN,
                       content_type="multipart/form-data", **kwargs)


def latest_batch() -> ImportBatch:
    return db.session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp932"])
def test_console_upload_preview_confirm_residents(manager_client, catalogue, encoding):
    response = upload(manager_client, "residents",
                      csv_bytes(RESIDENT_HEADER, RESIDENT_ROWS, encoding), name="register.csv")
    batch = latest_batch()
    assert batch.encoding == ("cp932" if encoding == "cp932" else "utf-8")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/imports/{batch.id}"
    assert batch.status == ImportStatus.CHECKED and batch.total_rows == 3
    assert count(Resident) == 0  # checked, nothing written

    page = manager_client.get(f"/admin/imports/{batch.id}", headers=EN).get_data(as_text=True)
    assert "register.csv" in page and "山田" in page and "太郎" in page
    assert "Confirm import" in page and "Discard" in page

    listing = manager_client.get("/admin/imports/", headers=EN).get_data(as_text=True)
    assert "register.csv" in listing and "Checked, waiting for confirmation" in listing

    done = manager_client.post(f"/admin/imports/{batch.id}/confirm", headers=EN,
                               follow_redirects=True).get_data(as_text=True)
    assert "Imported: 3 created, 0 updated" in done and "Result of the import" in done
    assert count(Resident) == 3
    hanako = db.session.scalar(select(Resident).where(Resident.external_id == "R002"))
    assert (hanako.family_name, hanako.given_name, hanako.given_name_kana) == \
        ("山田", "花子", "ハナコ")
    db.session.expire_all()
    assert latest_batch().status == ImportStatus.APPLIED
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"import.check", "import.apply"} <= actions

    again = manager_client.post(f"/admin/imports/{batch.id}/confirm", headers=EN,
                                follow_redirects=True).get_data(as_text=True)
    assert "cannot be confirmed any more" in again  # a batch is applied once
    assert count(Resident) == 3


def test_console_upload_preview_confirm_events_in_shift_jis(admin_client, people):
    upload(admin_client, "events", csv_bytes(EVENT_HEADER, EVENT_ROWS, "cp932"))
    batch = latest_batch()
    assert batch.encoding == "cp932" and batch.status == ImportStatus.CHECKED
    page = admin_client.get(f"/admin/imports/{batch.id}", headers=EN).get_data(as_text=True)
    assert "予約本の受け取り" in page and "library-loans" in page
    admin_client.post(f"/admin/imports/{batch.id}/confirm")
    assert count(UsageEvent, UsageEvent.source == EventSource.IMPORT) == 3


def test_console_bad_rows_block_confirmation_and_the_report_lists_them(manager_client,
                                                                        people):
    rows = [EVENT_ROWS[0], BAD_EVENTS[2][0], BAD_EVENTS[4][0]]
    upload(manager_client, "events", csv_bytes(EVENT_HEADER, rows))
    batch = latest_batch()
    assert batch.status == ImportStatus.REJECTED and batch.bad_rows == 2
    page = manager_client.get(f"/admin/imports/{batch.id}", headers=EN).get_data(as_text=True)
    assert "Confirm import" not in page
    assert "unknown channel fax" in page and "no resident with the external id R999" in page

    report = manager_client.get(f"/admin/imports/{batch.id}/report.csv", headers=EN)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert "attachment" in report.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[0] == ["row", "column", "reason"]
    assert [line[:2] for line in lines[1:]] == [["3", "channel"], ["4", "resident_external_id"]]

    manager_client.post(f"/admin/imports/{batch.id}/confirm")
    assert count(UsageEvent) == 0


def test_console_skip_bad_then_confirm_writes_only_good_rows(manager_client, people):
    rows = [EVENT_ROWS[0], BAD_EVENTS[2][0], EVENT_ROWS[1]]
    upload(manager_client, "events", csv_bytes(EVENT_HEADER, rows), skip_bad=True)
    batch = latest_batch()
    assert batch.status == ImportStatus.CHECKED and batch.skip_bad_rows
    page = manager_client.get(f"/admin/imports/{batch.id}", headers=EN).get_data(as_text=True)
    assert "Confirm import" in page and "1 bad row is skipped" in page
    manager_client.post(f"/admin/imports/{batch.id}/confirm")
    assert set(db.session.scalars(select(UsageEvent.idempotency_key))) == {"E1", "E2"}


def test_console_discard(manager_client, people):
    upload(manager_client, "events", csv_bytes(EVENT_HEADER, EVENT_ROWS))
    batch = latest_batch()
    response = manager_client.post(f"/admin/imports/{batch.id}/discard", headers=EN,
                                   follow_redirects=True)
    assert "nothing was imported" in response.get_data(as_text=True)
    db.session.expire_all()
    batch = latest_batch()
    assert batch.status == ImportStatus.DISCARDED and batch.content is None
    manager_client.post(f"/admin/imports/{batch.id}/confirm")
    assert count(UsageEvent) == 0


def test_console_reimport_counts_duplicates(manager_client, people):
    for _ in range(2):
        upload(manager_client, "events", csv_bytes(EVENT_HEADER, EVENT_ROWS))
        manager_client.post(f"/admin/imports/{latest_batch().id}/confirm")
    assert latest_batch().counts["duplicates"] == 3
    assert count(UsageEvent) == 3


@pytest.mark.parametrize("data, message", [
    ({"kind": "events"}, "Choose a CSV file to upload."),
    ({"kind": "events", "file": (io.BytesIO(b""), "empty.csv")}, "The file is empty."),
    ({"kind": "events", "file": (io.BytesIO(b"a,b\r\n"), "events.xlsx")},
     "Only .csv files can be imported."),
    ({"kind": "residents", "file": (io.BytesIO(csv_bytes(EVENT_HEADER, EVENT_ROWS)),
                                    "events.csv")},
     "This file has the columns of a “Usage events” file."),
    ({"kind": "pets", "file": (io.BytesIO(b"a\r\n1\r\n"), "pets.csv")}, "Not a valid choice"),
], ids=["no file", "empty", "extension", "wrong kind", "unknown kind"])
def test_upload_form_errors(manager_client, catalogue, data, message):
    response = manager_client.post("/admin/imports/", data=data, headers=EN,
                                   content_type="multipart/form-data")
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(ImportBatch) == 0


def test_upload_over_the_size_limit_is_a_form_error(app, manager_client, catalogue):
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 2048
    try:
        response = upload(manager_client, "events", b"x" * 4096)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert "The file is larger than" in response.get_data(as_text=True)
    assert count(ImportBatch) == 0


def test_undecodable_upload_is_stored_as_not_importable(manager_client, catalogue):
    upload(manager_client, "events", EVENT_HEADER.encode() + b"\r\n\x81\xff\xfe\r\n")
    batch = latest_batch()
    assert batch.status == ImportStatus.REJECTED
    page = manager_client.get(f"/admin/imports/{batch.id}", headers=EN).get_data(as_text=True)
    assert "not readable as UTF-8 / Shift_JIS (CP932)" in page
    assert "Confirm import" not in page


def test_problems_are_shown_in_the_readers_language(manager_client, people):
    upload(manager_client, "events", csv_bytes(EVENT_HEADER, [BAD_EVENTS[2][0]]))
    batch = latest_batch()
    assert batch.errors[0]["reason"].startswith("unknown channel fax")
    english = manager_client.get(f"/admin/imports/{batch.id}", headers=EN)
    assert "unknown channel fax" in english.get_data(as_text=True)


@pytest.mark.parametrize("role, expected", [
    (None, 302), ("resident", 403), ("staff", 403), ("official", 403), ("manager", 200),
    ("admin", 200)])
def test_only_managers_and_admins_import(role_client, users, role, expected):
    batch = ImportBatch(kind="events", filename="x.csv", content=b"x", status="checked",
                        uploaded_by_id=users["manager"].id, errors=[], preview=[])
    db.session.add(batch)
    db.session.commit()
    client = role_client(role)
    for path in ("/admin/imports/", f"/admin/imports/{batch.id}",
                 f"/admin/imports/{batch.id}/report.csv"):
        assert client.get(path).status_code == expected, path
    refused = 302 if role is None else 403
    if expected != 200:
        for path in (f"/admin/imports/{batch.id}/confirm", f"/admin/imports/{batch.id}/discard",
                     "/admin/imports/"):
            assert client.post(path).status_code == refused, path
        db.session.expire_all()
        assert db.session.get(ImportBatch, batch.id).status == "checked"


def test_upload_without_csrf_token_is_refused(csrf_on, manager_client, people):
    response = upload(manager_client, "events", csv_bytes(EVENT_HEADER, EVENT_ROWS))
    assert response.status_code == 400
    assert count(ImportBatch) == 0


def test_list_page_does_not_load_file_contents(manager_client, people, count_queries):
    for _ in range(3):
        upload(manager_client, "events", csv_bytes(EVENT_HEADER, EVENT_ROWS))
    with count_queries() as counter:
        manager_client.get("/admin/imports/")
    page_query = next(s.lower() for s in counter.statements
                      if "from import_batches" in s.lower() and "limit" in s.lower())
    assert "import_batches.content" not in page_query
    assert "import_batches.errors" not in page_query
    assert counter.count <= 6


def test_confirm_checks_again_against_the_current_data(manager_client, people):
    upload(manager_client, "events", csv_bytes(EVENT_HEADER, EVENT_ROWS))
    batch = latest_batch()
    assert batch.status == ImportStatus.CHECKED
    people["R002"].anonymised_at = utcnow()  # erased at the resident's request meanwhile
    db.session.commit()
    page = manager_client.post(f"/admin/imports/{batch.id}/confirm", headers=EN,
                               follow_redirects=True).get_data(as_text=True)
    assert "Nothing was imported: since the check, 1 row has a problem." in page
    assert "resident record was deleted at the resident&#39;s request" in page
    assert count(UsageEvent) == 0
    db.session.expire_all()
    assert latest_batch().status == ImportStatus.REJECTED


def test_household_district_follows_its_residents(runner, tmp_path, catalogue):
    header = "external_id,family_name,given_name,district,household_id"
    run(runner, "residents", write(tmp_path, "a.csv", header, ["R1,林,一,中央,H9"]))
    run(runner, "residents", write(tmp_path, "b.csv", header,
                                   ["R1,林,一,川辺,H9", "R2,林,二,,H9"]))
    household = db.session.scalar(select(Household).where(Household.external_id == "H9"))
    assert household.district == "川辺" and count(Household) == 1
    assert {r.external_id for r in household.members} == {"R1", "R2"}



def test_import_withdrawing_profiling_consent_removes_scores(runner, tmp_path, catalogue):
    from portal.engagement import scoring
    from portal.engagement.models import EngagementScore
    from portal.timeutil import local_today

    path = write(tmp_path, "residents.csv", RESIDENT_HEADER, RESIDENT_ROWS)
    assert run(runner, "residents", path).exit_code == 0
    taro = db.session.scalar(select(Resident).where(Resident.external_id == "R001"))
    service = db.session.scalar(select(EngagementScore.service_id).limit(1))  # none yet
    assert service is None
    db.session.add(UsageEvent(resident_id=taro.id, service_id=catalogue["library"].services[0].id,
                              kind="use",
                              channel="counter", occurred_at=utcnow(), source="staff",
                              idempotency_key="probe-1"))
    scoring.recompute(local_today())
    db.session.commit()
    assert count(EngagementScore) > 0
    withdrawn = write(tmp_path, "withdrawn.csv", "external_id,family_name,given_name,"
                      "consent_profiling", ["R001,山田,太郎,no"])
    assert run(runner, "residents", withdrawn).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(EngagementScore).where(
        EngagementScore.resident_id == taro.id)) == 0


# --- quotes that run over lines, NUL characters, dates out of range (issue 8 review) ----

def test_a_stray_opening_quote_is_a_bad_row_and_the_rows_after_it_are_read(runner, tmp_path,
                                                                            people):
    rows = [EVENT_ROWS[0], 'E2,R002,library-loans,2026-03-05,online,ok,"unterminated',
            EVENT_ROWS[2]]
    path = write(tmp_path, "events.csv", EVENT_HEADER, rows)
    checked = run(runner, "events", path)
    assert checked.exit_code == 1
    assert "rows: 3, created: 2, updated: 0, duplicates: 0, bad: 1" in checked.output
    assert ("row 3: a quoted value starts in this row and is never closed"
            in checked.output)
    assert count(UsageEvent) == 0

    skipped = run(runner, "events", path, "--skip-bad")
    assert skipped.exit_code == 0, skipped.output
    assert "rows: 3, created: 2" in skipped.output and "bad: 1" in skipped.output
    assert set(db.session.scalars(select(UsageEvent.idempotency_key))) == {"E1", "E3"}
    assert db.session.scalar(select(UsageEvent.note).where(
        UsageEvent.idempotency_key == "E1")) == "予約本の受け取り"


def test_a_quote_closed_on_a_later_line_names_both_rows(runner, tmp_path, people):
    rows = [EVENT_ROWS[0], 'E2,R002,library-loans,2026-03-05,online,ok,"two', 'lines"',
            EVENT_ROWS[2]]
    path = write(tmp_path, "events.csv", EVENT_HEADER, rows)
    result = run(runner, "events", path, "--skip-bad")
    assert "rows: 4" in result.output and "bad: 2" in result.output
    assert "row 3: a quoted value starts in this row and ends only in row 4" in result.output
    # the line after it is read as a row of its own (and is bad here)
    assert "row 4, column resident_external_id: a value is required" in result.output
    assert set(db.session.scalars(select(UsageEvent.idempotency_key))) == {"E1", "E3"}


def test_a_stray_quote_in_a_residents_file_loses_no_row(runner, tmp_path, catalogue):
    rows = [RESIDENT_ROWS[0], 'R009,"鈴木,一郎,,,,,,,,,,,,', RESIDENT_ROWS[1], RESIDENT_ROWS[2]]
    path = write(tmp_path, "residents.csv", RESIDENT_HEADER, rows)
    checked = run(runner, "residents", path)
    assert checked.exit_code == 1
    assert "rows: 4" in checked.output and "bad: 1" in checked.output
    assert "row 3: a quoted value starts in this row and is never closed" in checked.output
    skipped = run(runner, "residents", path, "--skip-bad")
    assert skipped.exit_code == 0, skipped.output
    assert "rows: 4, created: 3" in skipped.output
    assert set(db.session.scalars(select(Resident.external_id))) == {"R001", "R002", "R003"}


def test_a_quoted_header_that_runs_on_is_a_file_problem(runner, tmp_path, people):
    path = write(tmp_path, "events.csv", 'event_id,"resident_external_id,service', EVENT_ROWS)
    result = run(runner, "events", path)
    assert result.exit_code == 1
    assert "row 1: a quoted value starts in this row and is never closed" in result.output


def test_rows_lost_between_reading_and_checking_refuse_the_file(runner, tmp_path, people,
                                                                monkeypatch):
    from portal.imports import events

    original = events.numbered

    def losing(records, progress, every):  # a reader that drops row 3
        return ((number, row) for number, row in original(records, progress, every)
                if number != 3)

    monkeypatch.setattr(events, "numbered", losing)
    path = write(tmp_path, "events.csv", EVENT_HEADER, EVENT_ROWS)
    result = run(runner, "events", path, "--skip-bad")
    assert result.exit_code == 1
    assert ("row 1: the file has 3 data lines but 2 rows were read; nothing is imported"
            in result.output)
    assert count(UsageEvent) == 0


def test_quote_problems_are_translated_in_the_console(manager_client, people):
    rows = [EVENT_ROWS[0], 'E2,R002,library-loans,2026-03-05,online,ok,"unterminated',
            EVENT_ROWS[2]]
    upload(manager_client, "events", csv_bytes(EVENT_HEADER, rows), skip_bad=True)
    batch = latest_batch()
    assert (batch.total_rows, batch.good_rows, batch.bad_rows) == (3, 2, 1)
    page = manager_client.get(f"/admin/imports/{batch.id}",
                              headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "引用符" in page and "a quoted value" not in page


@pytest.mark.parametrize("kind, header, row, column", [
    ("events", EVENT_HEADER, "E1,R001,library-loans,2026-03-02,counter,use,a\x00b", "note"),
    ("events", EVENT_HEADER, "E\x001,R001,library-loans,2026-03-02,counter,,", "event_id"),
    ("residents", RESIDENT_HEADER, "R001,山\x00田,太郎,,,,,,,,,,,,", "family_name"),
])
def test_nul_characters_are_a_bad_value(runner, tmp_path, people, kind, header, row, column):
    path = write(tmp_path, f"{kind}.csv", header, [row])
    result = run(runner, kind, path, "--skip-bad")
    assert f"row 2, column {column}: contains a NUL character" in result.output
    assert "bad: 1" in result.output


@pytest.mark.parametrize("value", ["0001-01-01", "0001-01-01T00:00:00+09:00",
                                   "9999-12-31T23:59:59", "9999-12-31T23:59:59-12:00",
                                   "1899-12-31"])
def test_dates_out_of_range_are_bad_values_not_crashes(runner, tmp_path, people, value):
    path = write(tmp_path, "events.csv", EVENT_HEADER,
                 [f"E1,R001,library-loans,{value},counter,,", EVENT_ROWS[1]])
    result = run(runner, "events", path, "--skip-bad")
    assert result.exit_code == 0, result.output
    assert "row 2, column occurred_at:" in result.output
    assert "created: 1" in result.output and "bad: 1" in result.output
