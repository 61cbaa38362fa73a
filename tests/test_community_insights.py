"""Community insights on the console home: unanswered questions by service, time to
first (official) answer with n, most viewed without an official answer — per
department, staff their own, in a flat number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.community import insights
from portal.community.models import PostStatus
from portal.extensions import db
from portal.services.models import Department, Service
from portal.timeutil import utcnow
from tests.community_factories import answer, question


def by_code(items):
    return {item.department.code: item for item in items}


@pytest.fixture
def asker(make_user):
    return make_user("resident")


def test_unanswered_by_service_with_the_oldest_age(catalogue, asker):
    now = utcnow()
    question(asker, "古い質問", services=("library-loans",), created_at=now - timedelta(days=40))
    question(asker, "新しい質問", services=("library-loans", "library-study-room"),
             created_at=now - timedelta(days=2))
    answered = question(asker, "答えのある質問", services=("library-loans",))
    answer(answered, asker)
    question(asker, "非公開", services=("library-loans",), status=PostStatus.HIDDEN)
    library = by_code(insights.compute(now=now))["library"]
    assert library.unanswered == 2  # the question with two library services counts once
    assert library.oldest_days == 40
    rows = {row.service.slug: (row.unanswered, row.oldest_days) for row in library.by_service}
    assert rows == {"library-loans": (2, 40), "library-study-room": (1, 2)}
    assert by_code(insights.compute(now=now))["health"].unanswered == 0


def test_time_to_first_and_official_answer_median_with_n(catalogue, asker):
    now = utcnow()
    for hours, official_hours in ((2, 10), (4, None), (30, None)):
        asked = question(asker, f"{hours}時間", services=("cancer-screening",),
                         created_at=now - timedelta(days=5),
                         first_answer_at=now - timedelta(days=5) + timedelta(hours=hours),
                         first_official_answer_at=(
                             now - timedelta(days=5) + timedelta(hours=official_hours)
                             if official_hours else None))
        asked.answer_count = 1
    question(asker, "まだ", services=("cancer-screening",), created_at=now - timedelta(days=1))
    # older than the window: not counted
    question(asker, "去年", services=("cancer-screening",), created_at=now - timedelta(days=200),
             first_answer_at=now - timedelta(days=100))
    health = by_code(insights.compute(now=now))["health"]
    assert health.asked == 4
    assert health.first_answer.median_hours == pytest.approx(4)
    assert (health.first_answer.n, health.first_answer.without) == (3, 1)
    assert health.first_official.median_hours == pytest.approx(10)
    assert (health.first_official.n, health.first_official.without) == (1, 3)


def test_most_viewed_without_an_official_answer_top_five(catalogue, asker):
    for views in (5, 50, 10, 0, 70, 30, 20):
        question(asker, f"閲覧{views}", services=("bulky-waste-collection",), view_count=views)
    question(asker, "公式回答あり", services=("bulky-waste-collection",), view_count=999,
             first_official_answer_at=utcnow())
    environment = by_code(insights.compute())["environment"]
    assert [(q.title, q.views) for q in environment.most_viewed] == [
        ("閲覧70", 70), ("閲覧50", 50), ("閲覧30", 30), ("閲覧20", 20), ("閲覧10", 10)]


def test_staff_see_their_department_others_every_department(staff_client, manager_client,
                                                            official_client, catalogue, asker):
    question(asker, "図書館の質問です", services=("library-loans",), view_count=12)
    question(asker, "検診の質問です", services=("cancer-screening",), view_count=8)
    db.session.commit()
    page = staff_client.get("/admin/").get_data(as_text=True)
    assert "図書館の質問です" in page and "検診の質問です" not in page
    for client in (manager_client, official_client):
        page = client.get("/admin/").get_data(as_text=True)
        assert "図書館の質問です" in page and "検診の質問です" in page
    # linked to the question page
    assert "/community/questions/" in page


def test_the_home_page_queries_stay_flat_as_departments_grow(manager_client, catalogue, asker,
                                                             count_queries):
    def grow(n):
        for i in range(n):
            code = f"extra{len(catalogue)}{i}{n}"
            department = Department(code=code, name_ja=f"課{code}", name_en=f"Division {code}")
            db.session.add(department)
            db.session.flush()
            service = Service(slug=f"svc-{code}", department_id=department.id,
                              name_ja="サービス", name_en="Service")
            db.session.add(service)
            db.session.flush()
            question(asker, f"質問{code}", services=(service.slug,), view_count=i)
        db.session.commit()

    grow(1)
    with count_queries() as few:
        insights.compute()
    grow(6)
    with count_queries() as many:
        insights.compute()
    assert len(many.statements) == len(few.statements) <= 8


def test_insights_need_the_console(resident_client):
    assert insights.home_panel(None) is None
    assert resident_client.get("/admin/").status_code == 403
