"""Playbooks in the browser (issue 11): from a starter playbook to a logged call.

A manager opens the playbooks console, opens the starter "Detractor follow-up call"
(paused, as ``portal seed`` installs it), reads its dry run — at least one case
would open, the resident this test made a detractor among the sample — and
activates it from the dry run page. The evaluation then runs (``evaluate`` for this
playbook, in an app on the live portal's database) and opens the resident's case
with its call task in the citizens department's queue. A member of the citizens
staff, browsing in Japanese, finds the task on My work, opens the case, completes
the task "reached, by phone" with a note; the resident's 360° page shows the
touchpoint on its timeline, in Japanese for the staff member and in English for
the manager.

Every page visited passes the axe audit and the duplicate-id check.

The data is built with the test factories in an app bound to the live portal's
SQLite file and committed (the portal serves it from another process). ``portal
demo`` has activated the starter library, so the set-up pauses the playbook first;
the end puts back the status it found, whatever happened in between. The resident,
the survey and its answer carry this run's token and stay, like the other
journeys' data.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from portal.app import create_app
from portal.extensions import db
from portal.playbooks import evaluation
from portal.playbooks.holdout import held_out
from portal.playbooks.models import Case, Playbook, PlaybookStatus
from portal.services.models import Department
from portal.surveys.models import Response, SurveyStatus
from portal.timeutil import utcnow
from portal.work.models import Task
from tests import factories, survey_factories
from tests.browser.conftest import ARTIFACTS, AuditedPage
from tests.browser.test_inquiry_journeys import TIMEOUT_MS, _click_and_audit, _japanese
from tests.browser.test_inquiry_journeys import _sign_in as sign_in_japanese
from tests.browser.test_resident_journey import sign_in

MANAGER = "manager@demo.example"
STAFF = "staff.citizens@demo.example"
PLAYBOOK_KEY = "detractor-follow-up"
PLAYBOOK_EN = "Detractor follow-up call"
TASK_JA = "アンケートのご回答についてお電話"


@pytest.fixture
def live_app(live_server, live_instance: Path) -> Iterator[Flask]:
    """An app on the live portal's database, for the factories and the evaluation."""
    app = create_app("testing", {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{live_instance / 'portal.db'}",
        "INSTANCE_PATH": str(live_instance), "MAIL_SINK_DIR": str(live_instance / "mail")})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _prepare(app: Flask, token: str) -> dict:
    """Pause the starter playbook; a resident (not in its holdout) who answered a
    citizens' survey as a detractor yesterday. Committed."""
    with app.app_context():
        playbook = db.session.scalar(select(Playbook).where(Playbook.key == PLAYBOOK_KEY))
        assert playbook is not None, "portal seed installed no detractor follow-up playbook"
        found = {"playbook_id": playbook.id, "status": str(playbook.status)}
        playbook.status = PlaybookStatus.PAUSED
        citizens = db.session.scalar(select(Department).where(Department.code == "citizens"))
        assert playbook.department_id == citizens.id
        while True:  # the holdout is a stable hash: a resident outside it gets the call
            resident = factories.resident(family_name="試験", given_name=f"花子{token}",
                                          phone="03-0000-0000")
            if not held_out(playbook.id, resident.id, playbook.holdout_percent):
                break
        survey = survey_factories.survey(citizens, status=SurveyStatus.CLOSED,
                                         title_ja=f"窓口アンケート {token}",
                                         title_en=f"Counter survey {token}")
        db.session.add(Response(survey_id=survey.id, resident_id=resident.id, channel="web",
                                submission_key=survey_factories.key(), detractor=True,
                                submitted_at=utcnow() - timedelta(days=1)))
        db.session.commit()
        found.update(resident_id=resident.id, name=resident.full_name,
                     survey_ja=survey.title_ja)
    return found


def _evaluate(app: Flask, playbook_id: int, resident_id: int) -> tuple[int, int]:
    """The evaluation of the playbook, as the console's "Evaluate now" runs it: the
    resident's case (opened, not held out) and its call task."""
    with app.app_context():
        playbook = db.session.get(Playbook, playbook_id)
        assert playbook.status == PlaybookStatus.ACTIVE
        runs = evaluation.evaluate(playbooks=[playbook])
        assert runs[0].failed is None, runs[0].failed
        assert runs[0].opened >= 1, runs
        case = db.session.scalar(select(Case).where(Case.playbook_id == playbook_id,
                                                    Case.resident_id == resident_id))
        assert case is not None and not case.held_out
        task = db.session.scalar(select(Task).where(Task.case_id == case.id))
        assert task is not None and task.title_ja == TASK_JA
        return case.id, task.id


def _restore(app: Flask, playbook_id: int, status: str) -> None:
    with app.app_context():
        playbook = db.session.get(Playbook, playbook_id)
        if playbook.status != status:
            playbook.status = status
            db.session.commit()


def _shot(page: AuditedPage, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_manager_activates_a_starter_playbook_and_staff_log_the_call(page, browser,
                                                                     live_server, live_app):
    token = uuid.uuid4().hex[:6]
    note = f"お電話でお話を伺い、窓口の待ち時間についてご意見をいただきました {token}"
    found = _prepare(live_app, token)
    name, resident_id = found["name"], found["resident_id"]
    page.set_default_timeout(TIMEOUT_MS)
    staff_context, staff = _japanese(browser, live_server)
    current = page
    try:
        # (1) the manager: the console, the starter playbook, its dry run, Activate
        sign_in(page, MANAGER)
        page.goto("/admin/playbooks/")
        expect(page.locator("h1")).to_have_text("Playbooks")
        _click_and_audit(page, page.get_by_role("link", name=PLAYBOOK_EN, exact=True))
        expect(page.locator("h1")).to_have_text(PLAYBOOK_EN)
        expect(page.locator("main")).to_contain_text("This playbook is paused")
        _click_and_audit(page, page.get_by_role("link", name="Dry run · Activate"))
        expect(page.locator("h1")).to_have_text("Dry run")
        opens = page.get_by_role("row", name=re.compile(r"^Cases that would open now"))
        assert int(opens.locator("td").inner_text().replace(",", "")) >= 1
        expect(page.locator("main").get_by_role("link", name=name, exact=True)).to_be_visible()
        _click_and_audit(page, page.get_by_role("button", name="Activate the playbook"))
        expect(page.locator(".flash--success")).to_contain_text(
            "The playbook is active: the next evaluation opens its cases.")
        expect(page.locator("h1")).to_have_text(PLAYBOOK_EN)

        # (2) the evaluation opens the resident's case with its call task
        case_id, task_id = _evaluate(live_app, found["playbook_id"], resident_id)
        page.reload()
        page.audit()
        expect(page.locator("main")).not_to_contain_text("Not yet")  # last evaluated

        # (3) the citizens staff member, in Japanese: My work, the case, the call
        current = staff
        sign_in_japanese(staff, STAFF)
        staff.goto("/admin/work/")
        expect(staff.locator("h1")).to_have_text("自分の仕事")
        row = staff.locator("tbody tr", has_text=name)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("アンケートで低評価の方へのお電話")  # the playbook
        _click_and_audit(staff, row.get_by_role("link", name=TASK_JA))
        expect(staff.locator("h1")).to_contain_text(f"ケース {case_id}")
        expect(staff.locator("main")).to_contain_text(f"「{found['survey_ja']}」")
        task = staff.locator(f"#task-{task_id}")
        expect(task.get_by_role("heading", level=3)).to_have_text(TASK_JA)
        task.get_by_label(re.compile(r"^結果")).select_option(label="連絡がついた")
        task.get_by_label(re.compile(r"^住民の方への連絡方法")).select_option(label="電話")
        task.get_by_label("メモ", exact=True).fill(note)
        _click_and_audit(staff, task.get_by_role("button", name="タスクを完了する"))
        expect(staff.locator(".flash--success")).to_contain_text(f"タスク「{TASK_JA}」を完了しました。")
        expect(staff.locator(f"#task-{task_id}")).to_contain_text(note)
        expect(staff.locator(f"#task-{task_id}").locator("form")).to_have_count(0)

        # (4) the resident's 360° page: the touchpoint on the timeline
        resident_panel = staff.locator("section", has=staff.locator("#case-resident-title"))
        _click_and_audit(staff, resident_panel.get_by_role("link", name=name))
        touchpoint = staff.locator("tr.timeline__touchpoint", has_text=note)
        expect(touchpoint).to_have_count(1)
        for text in ("タスク完了", "電話", "結果：連絡がついた", f"ケース {case_id}"):
            expect(touchpoint).to_contain_text(text)

        current = page
        page.goto(f"/admin/residents/{resident_id}")
        touchpoint = page.locator("tr.timeline__touchpoint", has_text=note)
        for text in ("Task completed", "By phone", "Outcome: Reached", f"Case {case_id}"):
            expect(touchpoint).to_contain_text(text)

        paths = {re.sub(r"^https?://[^/]+|[?#].*$", "", url)
                 for url in page.audited + staff.audited}
        playbook = f"/admin/playbooks/{found['playbook_id']}"
        assert {"/admin/playbooks/", playbook, f"{playbook}/dry-run", "/admin/work/",
                f"/admin/work/cases/{case_id}", f"/admin/residents/{resident_id}"} <= paths
    except Exception:
        _shot(current, "playbook-journey-" + ("staff" if current is staff else "manager"))
        raise
    finally:
        staff_context.close()
        _restore(live_app, found["playbook_id"], found["status"])
