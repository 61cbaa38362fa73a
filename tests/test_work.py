"""My work, the case page and its forms, touchpoints on the 360° timeline and the
console home's panels — through the pages, as staff use them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.engagement.weights import ensure_default
from portal.extensions import db
from portal.outreach.labels import TOUCHPOINT_ACTION_LABELS
from portal.outreach.models import OutreachMessage, Touchpoint
from portal.playbooks.definition import STEP_KINDS, TRIGGERS
from portal.playbooks.models import CaseNote, CaseStatus, Outcome
from portal.work.models import Task, TaskStatus
from tests import factories
from tests.conftest import sign_in
from tests.test_labels import ENUM_CODES, visible_words
from tests.test_work_operations import TODAY, make_case

JA = {"Accept-Language": "ja"}
EN = {"Accept-Language": "en"}
CODES = (ENUM_CODES | {o.value for o in Outcome} | set(TOUCHPOINT_ACTION_LABELS)
         | {"no_consent", "do_not_contact", "no_address", "budget", "held_out", "queued",
            "suppressed", "done", "cancelled", "task_done", "due_changed"}
         | set(TRIGGERS) | set(STEP_KINDS)) - {"open", "closed"}


def assert_no_codes(html: str, where: str) -> None:
    shown = visible_words(html) & CODES
    assert shown == set(), f"raw codes on {where}: {sorted(shown)}"


def text(response) -> str:
    return response.get_data(as_text=True)


def add_task(case, department, *, due=TODAY, **values):
    task = Task(case_id=case.id, step=0, resident_id=case.resident_id,
                department_id=department.id, title_ja=values.pop("title_ja", "追加の電話"),
                title_en=values.pop("title_en", "Another call"), due_on=due, **values)
    db.session.add(task)
    db.session.flush()
    return task


# -- My work ------------------------------------------------------------------------------

def test_my_work_shows_mine_and_my_department_queue(staff_client, users, catalogue,
                                                    make_user):
    library, health = catalogue["library"], catalogue["health"]
    case, (queued,) = make_case(library)
    mine = add_task(case, library, title_en="Mine", assignee_id=users["staff"].id,
                    due=TODAY + timedelta(days=4))
    colleague = make_user(Role.STAFF, department=library)
    add_task(case, library, title_en="A colleague's", assignee_id=colleague.id)
    add_task(case, library, title_en="For the manager", assignee_role="manager")
    add_task(case, library, title_en="For staff", assignee_role="staff",
             due=TODAY - timedelta(days=2))
    other, _ = make_case(health, slug="cancer-screening")
    add_task(other, health, title_en="Health's")
    db.session.commit()
    html = text(staff_client.get("/admin/work/", headers=EN))
    titles = re.findall(r'#task-\d+">([^<]+)</a>', html)
    assert titles == ["For staff", "Call 0", "Mine"]  # overdue first, then by due date
    assert "overdue" in html
    mine_only = text(staff_client.get("/admin/work/?show=mine", headers=EN))
    assert re.findall(r'#task-\d+">([^<]+)</a>', mine_only) == ["Mine"]
    queue_only = text(staff_client.get("/admin/work/?show=queue", headers=EN))
    assert re.findall(r'#task-\d+">([^<]+)</a>', queue_only) == ["For staff", "Call 0"]
    assert queued.id and mine.id


def test_managers_see_the_manager_role_queue_of_every_department(manager_client, catalogue):
    library, health = catalogue["library"], catalogue["health"]
    case, (_queued,) = make_case(library)
    add_task(case, library, title_en="Escalated", assignee_role="manager")
    other, _ = make_case(health, slug="cancer-screening")
    add_task(other, health, title_en="Escalated in health", assignee_role="manager")
    db.session.commit()
    html = text(manager_client.get("/admin/work/", headers=EN))
    assert sorted(re.findall(r'#task-\d+">([^<]+)</a>', html)) == [
        "Escalated", "Escalated in health"]  # not the department queues
    assert "Managers&#39; queue" in html or "Managers' queue" in html


def test_snoozed_tasks_are_hidden_until_their_day(staff_client, users, catalogue):
    library = catalogue["library"]
    case, (task,) = make_case(library)
    task.snoozed_until = TODAY + timedelta(days=3)
    add_task(case, library, title_en="Woke up today", snoozed_until=TODAY)
    db.session.commit()
    html = text(staff_client.get("/admin/work/", headers=EN))
    assert "Call 0" not in html and "Woke up today" in html
    html = text(staff_client.get("/admin/work/?snoozed=y", headers=EN))
    assert "Call 0" in html and "snoozed until" in html


def test_my_work_query_count_is_flat_and_audits_each_resident(
        app, staff_client, users, catalogue, count_queries):
    library = catalogue["library"]
    for _ in range(3):
        make_case(library)
    db.session.commit()
    with count_queries() as few:
        assert staff_client.get("/admin/work/").status_code == 200
    for _ in range(40):
        make_case(library, tasks=2)
    db.session.commit()
    with count_queries() as many:
        html = text(staff_client.get("/admin/work/?page=2", headers=EN))
    assert many.count <= few.count + 1, many.statements
    assert "Page 2 of 4" in html
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "case.list_view", AuditEntry.actor_id == users["staff"].id)))
    seen_on_page_2 = [e for e in entries if e.data == {"page": 2}]
    assert len(seen_on_page_2) == len({e.target_id for e in seen_on_page_2}) > 0


def test_my_work_page_has_no_raw_codes(staff_client, users, catalogue):
    library = catalogue["library"]
    case, (_task,) = make_case(library, held_out=False)
    add_task(case, library, assignee_id=users["staff"].id, due=TODAY - timedelta(days=1))
    db.session.commit()
    assert_no_codes(text(staff_client.get("/admin/work/?snoozed=y", headers=JA)), "My work")


# -- the case page ------------------------------------------------------------------------

@pytest.fixture
def rich_case(app, catalogue, users):
    """A library case with a score at opening, two steps, a message sent and one
    suppressed, a note and a step event."""
    from portal.playbooks.models import Playbook, PlaybookVersion

    ensure_default()
    library = catalogue["library"]
    case, (task,) = make_case(library, score_at_open=28.0, band_at_open="red",
                              recency_at_open=10.0, frequency_at_open=40.0,
                              satisfaction_at_open=None, friction_at_open=100.0,
                              opened_at=datetime.now(UTC) - timedelta(days=1))
    book = db.session.get(Playbook, case.playbook_id)
    version = db.session.scalar(select(PlaybookVersion).where(
        PlaybookVersion.playbook_id == book.id))
    version.snapshot = {**version.snapshot, "steps": [
        {"kind": "task", "offset_days": 0, "title_ja": "電話で様子を伺う",
         "title_en": "Call the resident", "assignee": "queue", "due_days": 3},
        {"kind": "wait", "offset_days": 7},
        {"kind": "task", "offset_days": 14, "title_ja": "再度の電話", "title_en": "Call again",
         "assignee": "queue", "due_days": 3}]}
    case.next_step = 1
    db.session.add_all([
        OutreachMessage(resident_id=case.resident_id, case_id=case.id, step=0,
                        department_id=library.id, channel="email", status="sent",
                        subject="ご案内", sent_at=datetime.now(UTC)),
        OutreachMessage(resident_id=case.resident_id, case_id=case.id, step=0,
                        department_id=library.id, channel=None, status="suppressed",
                        reason="budget", subject="もう一通"),
        CaseNote(case_id=case.id, event="step", data={"step": 0}),
        CaseNote(case_id=case.id, body="最初のメモ", author_id=users["staff"].id),
    ])
    db.session.commit()
    return case, task


def test_case_page_explains_itself(staff_client, users, rich_case):
    case, _task = rich_case
    html = text(staff_client.get(f"/admin/work/cases/{case.id}", headers=EN))
    assert f"/admin/residents/{case.resident_id}" in html
    assert "Score enters a band" in html and "Red" in html
    assert "Recency" in html and "Friction" in html and "missing" in html
    assert "Call the resident" in html and "Call again" in html and "Wait until" in html
    assert "Done" in html and "Next" in html and "To come" in html
    assert "Over the contact budget" in html and "Sent" in html
    assert "最初のメモ" in html
    assert "version 1 opened this case" in html
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "case.view"))
    assert entry.target_id == str(case.resident_id) and entry.data == {"case": case.id}


def test_case_page_has_unique_ids_and_no_codes(staff_client, catalogue, rich_case):
    case, _task = rich_case
    add_task(case, catalogue["library"])  # two open tasks: two sets of forms
    db.session.commit()
    for headers in (JA, EN):
        html = text(staff_client.get(f"/admin/work/cases/{case.id}", headers=headers))
        ids = re.findall(r'\sid="([^"]+)"', html)
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
        if headers is JA:
            assert_no_codes(html, "the case page")


def test_case_page_of_another_department_is_404_for_staff(staff_client, manager_client,
                                                          catalogue):
    case, _ = make_case(catalogue["health"], slug="cancer-screening")
    db.session.commit()
    assert staff_client.get(f"/admin/work/cases/{case.id}").status_code == 404
    assert manager_client.get(f"/admin/work/cases/{case.id}").status_code == 200


def test_trigger_ref_inquiry_is_shown(staff_client, catalogue):
    from portal.inquiries import operations as inquiry_ops

    case, _ = make_case(catalogue["library"], trigger_value=4.0)
    case.playbook.trigger = "inquiry_overdue"
    with staff_client.application.test_request_context(method="POST"):
        inquiry = inquiry_ops.create_inquiry(category="question", channel="phone",
                                             subject="本の返却について", description="…",
                                             resident=case.resident,
                                             service=factories.service("library-loans"))
    case.trigger_ref = inquiry.id
    from portal.playbooks.models import PlaybookVersion

    version = db.session.scalar(select(PlaybookVersion).where(
        PlaybookVersion.playbook_id == case.playbook_id))
    version.snapshot = {**version.snapshot, "trigger": "inquiry_overdue",
                        "trigger_params": {"days": 3}}
    db.session.commit()
    html = text(staff_client.get(f"/admin/work/cases/{case.id}", headers=EN))
    assert "Inquiry overdue" in html and "4 days overdue" in html
    assert f"/admin/inquiries/{inquiry.id}" in html and "本の返却について" in html


# -- the actions through the pages ----------------------------------------------------------

def test_complete_through_the_page_then_replay(staff_client, users, catalogue):
    case, (task,) = make_case(catalogue["library"])
    db.session.commit()
    form = {"outcome": "reached", "channel": "phone", "note": "お元気でした"}
    response = staff_client.post(f"/admin/work/tasks/{task.id}/complete", data=form,
                                 headers=EN)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/work/cases/{case.id}")
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == TaskStatus.DONE
    again = staff_client.post(f"/admin/work/tasks/{task.id}/complete",
                              data={**form, "outcome": "declined"}, headers=EN)
    assert again.status_code == 400
    assert "already completed" in text(again)
    db.session.expire_all()
    assert db.session.get(Task, task.id).outcome == "reached"
    assert db.session.scalar(select(AuditEntry.action).where(
        AuditEntry.action == "task.complete")) == "task.complete"


def test_refusals_keep_the_form_and_change_nothing(staff_client, catalogue):
    _case, (task,) = make_case(catalogue["library"])
    db.session.commit()
    response = staff_client.post(f"/admin/work/tasks/{task.id}/complete",
                                 data={"outcome": "recovered", "channel": "phone",
                                       "note": "typed"}, headers=EN)
    assert response.status_code == 400
    html = text(response)
    assert "Not a valid choice" in html or "Choose an outcome" in html
    assert "typed" in html
    response = staff_client.post(f"/admin/work/tasks/{task.id}/snooze",
                                 data={"until": TODAY.isoformat()}, headers=EN)
    assert response.status_code == 400 and "after today" in text(response)
    db.session.expire_all()
    assert db.session.get(Task, task.id).snoozed_until is None
    assert db.session.scalar(select(Touchpoint.id)) is None


def test_other_departments_task_is_404_and_untouched(staff_client, catalogue):
    _case, (task,) = make_case(catalogue["health"], slug="cancer-screening")
    db.session.commit()
    response = staff_client.post(f"/admin/work/tasks/{task.id}/complete",
                                 data={"outcome": "reached", "channel": "phone"})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == TaskStatus.OPEN


def test_close_then_act_on_its_task(staff_client, catalogue):
    case, (task,) = make_case(catalogue["library"])
    db.session.commit()
    response = staff_client.post(f"/admin/work/cases/{case.id}/close",
                                 data={"outcome": "resolved", "note": "解決"}, headers=EN)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == TaskStatus.CANCELLED
    response = staff_client.post(f"/admin/work/tasks/{task.id}/due",
                                 data={"due_on": (TODAY + timedelta(days=3)).isoformat()},
                                 headers=EN)
    assert response.status_code == 400 and "cancelled" in text(response)
    response = staff_client.post(f"/admin/work/cases/{case.id}/close",
                                 data={"outcome": "reached"}, headers=EN)
    assert response.status_code == 400 and "was closed on" in text(response)
    html = text(staff_client.get(f"/admin/work/cases/{case.id}", headers=EN))
    assert "Close the case</button>" not in html and 'id="close-outcome"' not in html
    assert db.session.get(type(case), case.id).status == CaseStatus.CLOSED


def test_due_change_shifts_others_through_the_page(staff_client, catalogue):
    _case, (first, second) = make_case(catalogue["library"], tasks=2)
    db.session.commit()
    response = staff_client.post(f"/admin/work/tasks/{first.id}/due", data={
        "due_on": (TODAY + timedelta(days=10)).isoformat(), "shift_others": "y"}, headers=EN)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Task, second.id).due_on == TODAY + timedelta(days=11)


def test_reassign_through_the_page(staff_client, users, catalogue, make_user):
    colleague = make_user(Role.STAFF, department=catalogue["library"])
    _case, (first, second) = make_case(catalogue["library"], tasks=2)
    db.session.commit()
    response = staff_client.post(f"/admin/work/tasks/{first.id}/reassign", data={
        "assignee": str(colleague.id), "with_others": "y"}, headers=EN)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Task, second.id).assignee_id == colleague.id
    # someone of another department is not among the choices
    stranger = make_user(Role.STAFF, department=catalogue["health"])
    response = staff_client.post(f"/admin/work/tasks/{first.id}/reassign",
                                 data={"assignee": str(stranger.id)}, headers=EN)
    assert response.status_code == 400


def test_note_through_the_page_with_csrf(app, csrf_on, users, catalogue):
    case, _ = make_case(catalogue["library"])
    db.session.commit()
    client = sign_in(app.test_client(), users["staff"])
    refused = client.post(f"/admin/work/cases/{case.id}/note", data={"body": "no token"})
    assert refused.status_code == 400
    page = text(client.get(f"/admin/work/cases/{case.id}"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    response = client.post(f"/admin/work/cases/{case.id}/note",
                           data={"body": "電話に出られませんでした", "csrf_token": token.group(1)})
    assert response.status_code == 302
    assert db.session.scalar(select(CaseNote.body).where(CaseNote.case_id == case.id,
                                                         CaseNote.event.is_(None))) \
        == "電話に出られませんでした"


# -- the 360° page ------------------------------------------------------------------------

def test_touchpoint_on_the_timeline_and_the_cases_list(staff_client, manager_client,
                                                       catalogue, make_user, app):
    case, (task,) = make_case(catalogue["library"])
    db.session.commit()
    staff_client.post(f"/admin/work/tasks/{task.id}/complete",
                      data={"outcome": "reached", "channel": "outreach", "note": "訪問"})
    html = text(staff_client.get(f"/admin/residents/{case.resident_id}", headers=EN))
    assert "Task completed" in html and "Outreach visit" in html and "Outcome: Reached" in html
    assert f"/admin/work/cases/{case.id}" in html  # the touchpoint and the cases list
    assert 'id="resident-cases-title"' in html
    filtered = text(staff_client.get(
        f"/admin/residents/{case.resident_id}?channel=outreach", headers=EN))
    assert "Task completed" in filtered
    other = text(staff_client.get(f"/admin/residents/{case.resident_id}?channel=phone",
                                  headers=EN))
    assert "Task completed" not in other
    assert_no_codes(text(staff_client.get(f"/admin/residents/{case.resident_id}",
                                          headers=JA)), "the 360° page")
    # health's staff do not see the library's touchpoint
    health = sign_in(app.test_client(), make_user(Role.STAFF, department=catalogue["health"]))
    html = text(health.get(f"/admin/residents/{case.resident_id}", headers=EN))
    assert "Task completed" not in html and 'id="resident-cases-title"' not in html
    assert "Task completed" in text(manager_client.get(
        f"/admin/residents/{case.resident_id}", headers=EN))


# -- the console home -----------------------------------------------------------------------

def test_home_panels(staff_client, users, catalogue, count_queries):
    library = catalogue["library"]
    case, (queued,) = make_case(library)
    queued.due_on = TODAY - timedelta(days=1)
    add_task(case, library, assignee_id=users["staff"].id, due=TODAY - timedelta(days=3))
    add_task(case, library, assignee_id=users["staff"].id, due=TODAY + timedelta(days=3))
    _other, (theirs,) = make_case(catalogue["health"], slug="cancer-screening")
    theirs.due_on = TODAY - timedelta(days=5)
    db.session.commit()
    html = text(staff_client.get("/admin/", headers=EN))
    panel = html[html.index('id="work-title"'):]
    panel = panel[:panel.index("</section>")]
    assert "My open tasks" in panel and ">2" in panel and "overdue 1" in panel
    assert "Overdue in my department" in panel
    assert re.search(r"Overdue in my department</dt>\s*<dd>2</dd>", panel)
    from portal.work.queries import home_counts

    staff = db.session.get(type(users["staff"]), users["staff"].id)
    with count_queries() as counted:
        home_counts(staff, TODAY)
    assert counted.count == 2


def test_home_panel_for_managers_counts_every_department(manager_client, catalogue):
    for department, slug in (("library", "library-loans"), ("health", "cancer-screening")):
        _case, (task,) = make_case(catalogue[department], slug=slug)
        task.due_on = TODAY - timedelta(days=1)
    db.session.commit()
    html = text(manager_client.get("/admin/", headers=EN))
    assert re.search(r"Overdue in all departments</dt>\s*<dd>2</dd>", html)


def test_official_sees_no_work_panel(official_client):
    assert 'id="work-title"' not in text(official_client.get("/admin/"))


