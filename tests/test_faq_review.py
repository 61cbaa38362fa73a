"""Keeping the FAQ current: review tasks for the owner department (idempotent, in My
work, linked to the entry), "being reviewed" on the public page after the grace
period, and marking reviewed completing the task."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.faq import jobs, review
from portal.faq.models import EntryStatus, FaqVersion
from portal.faq.operations import add_months
from portal.timeutil import local_today
from portal.work.models import Task, TaskStatus
from tests.community_factories import faq_entry

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}


def tasks() -> list[Task]:
    return list(db.session.scalars(select(Task).where(Task.subject_type == "faq_entry")
                                   .order_by(Task.id)))


def test_a_due_entry_gets_one_task_for_its_department(app, catalogue):
    today = local_today()
    due = faq_entry(catalogue["library"], review_on=today - timedelta(days=1))
    faq_entry(catalogue["health"], review_on=today + timedelta(days=1))  # not yet
    faq_entry(catalogue["health"], review_on=today - timedelta(days=9),
              status=EntryStatus.ARCHIVED)  # withdrawn: no review
    with app.app_context():
        assert review.create_review_tasks(today) == 1
        assert review.create_review_tasks(today) == 0  # idempotent
        assert jobs.create_review_tasks(today) == 0
    [task] = tasks()
    assert task.subject_id == due.id and task.department_id == catalogue["library"].id
    assert task.resident_id is None and task.case_id is None and task.assignee_id is None
    assert task.due_on == due.review_on + timedelta(days=app.config["FAQ_REVIEW_GRACE_DAYS"])
    assert task.title_ja == "FAQ の見直し: ごみの出し方は？"
    assert task.title_en == "FAQ review: How do I put out rubbish?"
    [entry] = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "faq.review_task")).all()
    assert entry.target_id == str(due.id) and entry.data["task"] == task.id


def test_the_command_line_makes_the_tasks(app, catalogue, runner):
    faq_entry(catalogue["library"], review_on=local_today())
    db.session.commit()
    result = runner.invoke(args=["faq", "review-tasks"])
    assert result.exit_code == 0 and "FAQ review tasks created: 1" in result.output
    assert "created: 0" in runner.invoke(args=["faq", "review-tasks"]).output


def test_the_task_shows_in_my_work_with_a_link_to_the_entry(app, catalogue, users,
                                                             staff_client, make_user):
    from tests.conftest import sign_in

    entry = faq_entry(catalogue["library"], review_on=local_today())
    review.create_review_tasks()
    db.session.commit()
    html = staff_client.get("/admin/work/", headers=EN).get_data(as_text=True)
    assert f'<a href="/admin/faq/{entry.id}">FAQ review: How do I put out rubbish?</a>' in html
    assert "Department&#39;s queue" in html or "Department's queue" in html
    html = staff_client.get("/admin/work/", headers=JA).get_data(as_text=True)
    assert "FAQ の見直し: ごみの出し方は？" in html
    nurse = sign_in(app.test_client(), make_user(Role.STAFF, department=catalogue["health"]))
    assert "ごみの出し方" not in nurse.get("/admin/work/", headers=JA).get_data(as_text=True)
    page = staff_client.get(f"/admin/faq/{entry.id}", headers=EN).get_data(as_text=True)
    assert "Review task" in page and "Mark reviewed" in page


def test_marking_reviewed_completes_the_task_and_moves_the_review_date(
        app, catalogue, users, staff_client):
    entry = faq_entry(catalogue["library"], review_on=local_today() - timedelta(days=30))
    review.create_review_tasks()
    db.session.commit()
    response = staff_client.post(f"/admin/faq/{entry.id}/review", headers=EN,
                                 data={"note": "Checked with the counter"})
    assert response.status_code == 302
    db.session.expire_all()
    [task] = tasks()
    assert task.status == TaskStatus.DONE and task.completed_by_id == users["staff"].id
    assert entry.review_on == add_months(local_today(), 12) and entry.last_reviewed_at
    version = db.session.scalar(select(FaqVersion).where(FaqVersion.entry_id == entry.id))
    assert version.snapshot["action"] == "faq.review" and version.note == "Checked with the counter"
    assert review.create_review_tasks() == 0
    html = staff_client.get("/admin/work/", headers=EN).get_data(as_text=True)
    assert "FAQ review:" not in html


def test_a_chosen_review_date_must_be_in_the_future(app, catalogue, staff_client):
    entry = faq_entry(catalogue["library"], review_on=local_today())
    db.session.commit()
    response = staff_client.post(f"/admin/faq/{entry.id}/review", headers=EN,
                                 data={"review_on": local_today().isoformat()},
                                 follow_redirects=True)
    assert "Choose a review date after today." in response.get_data(as_text=True)
    chosen = local_today() + timedelta(days=90)
    staff_client.post(f"/admin/faq/{entry.id}/review", headers=EN,
                      data={"review_on": chosen.isoformat()})
    db.session.expire_all()
    assert entry.review_on == chosen


def test_the_public_page_says_being_reviewed_only_after_the_grace_period(app, catalogue,
                                                                          client):
    grace = app.config["FAQ_REVIEW_GRACE_DAYS"]
    within = faq_entry(catalogue["library"], review_on=local_today() - timedelta(days=grace))
    past = faq_entry(catalogue["library"],
                     review_on=local_today() - timedelta(days=grace + 1))
    db.session.commit()
    html = client.get(f"/faq/{within.id}", headers=EN).get_data(as_text=True)
    assert "being reviewed" not in html
    html = client.get(f"/faq/{past.id}", headers=EN).get_data(as_text=True)
    assert "This answer is being reviewed." in html
    assert "Put it out on the morning of collection day." in html  # still shown
    assert "It was written on" in html
    html = client.get(f"/faq/{past.id}", headers=JA).get_data(as_text=True)
    assert "この回答は見直し中です。" in html
    with app.test_request_context():
        assert review.review_state(within) == "due"
        assert review.review_state(past) == "being_reviewed"


def test_the_daily_job_is_registered(app):
    from portal.periodic import TASKS

    assert ("faq_review_tasks", "portal.faq.jobs:create_review_tasks") in [
        (task.name, task.path) for task in TASKS]
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def _values(entry, **changes):
    from portal.faq.operations import EntryValues, service_ids

    values = EntryValues(question_ja=entry.question_ja, answer_ja=entry.answer_ja,
                         question_en=entry.question_en, answer_en=entry.answer_en,
                         department_id=entry.department_id,
                         service_ids=service_ids(entry), review_on=entry.review_on)
    for name, value in changes.items():
        setattr(values, name, value)
    return values


def test_an_open_review_task_follows_its_entry_to_another_department(app, catalogue, users):
    from portal.faq.operations import update_entry

    today = local_today()
    entry = faq_entry(catalogue["library"], review_on=today - timedelta(days=2))
    review.create_review_tasks(today)
    [task] = tasks()
    task.assignee_id = users["staff"].id  # a library member took it
    update_entry(entry, _values(entry, department_id=catalogue["health"].id),
                 actor=users["manager"], today=today)
    db.session.flush()
    [task] = tasks()
    assert task.status == TaskStatus.OPEN
    assert (task.department_id, task.assignee_id) == (catalogue["health"].id, None)


def test_an_edit_that_sets_a_later_review_date_completes_the_task(app, catalogue, users):
    from portal.faq.operations import update_entry

    today = local_today()
    entry = faq_entry(catalogue["library"], review_on=today - timedelta(days=2))
    review.create_review_tasks(today)
    update_entry(entry, _values(entry, answer_ja="図書館カウンターでも受け付けます。"),
                 actor=users["staff"], today=today)
    assert tasks()[0].status == TaskStatus.OPEN  # still due: the task stays
    update_entry(entry, _values(entry, review_on=today + timedelta(days=90)),
                 actor=users["staff"], today=today)
    db.session.flush()
    [task] = tasks()
    assert task.status == TaskStatus.DONE and task.completed_by_id == users["staff"].id
