"""Official answers: staff of a tagged service's department answer in its name; the
department edits (history kept) and marks them reviewed; everyone else is refused."""

from __future__ import annotations

import pytest
from flask import g, render_template
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.community import events, official
from portal.community.models import Post, PostStatus, Revision
from portal.extensions import db
from tests.community_factories import answer, question
from tests.conftest import sign_in


@pytest.fixture
def asked(users, make_user):
    return question(make_user("resident"), services=("library-loans",))


def official_answers(question_post):
    return db.session.scalars(select(Post).where(Post.question_id == question_post.id,
                                                 Post.official.is_(True))).all()


def test_staff_of_the_department_answer_officially(staff_client, users, catalogue, asked):
    seen = {"changed": [], "published": []}
    events.POST_CHANGED.append(seen["changed"].append)
    events.ANSWER_PUBLISHED.append(seen["published"].append)
    try:
        response = staff_client.post(f"/community/questions/{asked.id}/official",
                                     data={"body": "**中央図書館**の窓口で受け付けます。",
                                           "lang": "ja",
                                           "department_id": catalogue["library"].id})
    finally:
        events.POST_CHANGED.remove(seen["changed"].append)
        events.ANSWER_PUBLISHED.remove(seen["published"].append)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/community/questions/{asked.id}")
    [given] = official_answers(asked)
    assert given.status == PostStatus.PUBLISHED and given.official_department_id == \
        catalogue["library"].id
    assert given.reviewed_at is not None and given.author_id == users["staff"].id
    assert "<strong>中央図書館</strong>" in given.body_html
    db.session.refresh(asked)
    assert asked.first_official_answer_at is not None and asked.answer_count == 1
    assert asked.first_answer_at is not None
    assert given.id in {p.id for p in seen["changed"]}
    assert [p.id for p in seen["published"]] == [given.id]
    assert db.session.scalar(select(AuditEntry.action).where(
        AuditEntry.target_id == str(given.id))) == "community.official_answer"


def test_staff_of_another_department_are_refused(app, catalogue, make_user, asked):
    other = sign_in(app.test_client(), make_user("staff", department=catalogue["health"]))
    response = other.post(f"/community/questions/{asked.id}/official",
                          data={"body": "健康づくり課です。", "lang": "ja"})
    assert response.status_code == 403
    assert official_answers(asked) == []


def test_residents_and_officials_cannot_answer_officially(resident_client, official_client,
                                                          asked):
    for client in (resident_client, official_client):
        assert client.post(f"/community/questions/{asked.id}/official",
                           data={"body": "x", "lang": "ja"}).status_code == 403
    assert official_answers(asked) == []


def test_managers_choose_among_the_tagged_departments(manager_client, catalogue, make_user):
    both = question(make_user("resident"), services=("library-loans", "cancer-screening"))
    response = manager_client.post(f"/community/questions/{both.id}/official",
                                   data={"body": "検診の予約は健康づくり課へ。", "lang": "ja"})
    assert response.status_code == 400  # no department chosen: asked again, text kept
    page = response.get_data(as_text=True)
    assert "検診の予約は健康づくり課へ。" in page
    assert official_answers(both) == []
    # a department that is not tagged is refused
    response = manager_client.post(f"/community/questions/{both.id}/official",
                                   data={"body": "x", "lang": "ja",
                                         "department_id": catalogue["sports"].id})
    assert response.status_code == 400 and official_answers(both) == []
    response = manager_client.post(f"/community/questions/{both.id}/official",
                                   data={"body": "検診の予約は健康づくり課へ。", "lang": "ja",
                                         "department_id": catalogue["health"].id})
    assert response.status_code == 302
    [given] = official_answers(both)
    assert given.official_department_id == catalogue["health"].id


def test_an_empty_or_oversized_answer_is_refused_with_the_text_kept(app, staff_client, asked):
    response = staff_client.post(f"/community/questions/{asked.id}/official",
                                 data={"body": "   ", "lang": "ja"})
    assert response.status_code == 400
    long_text = "あ" * (app.config["COMMUNITY_POST_MAX_CHARS"] + 1)
    response = staff_client.post(f"/community/questions/{asked.id}/official",
                                 data={"body": long_text, "lang": "ja"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert long_text in page and "長すぎます" in page
    assert official_answers(asked) == []


def test_a_question_that_is_not_public_cannot_be_answered(staff_client, make_user):
    hidden = question(make_user("resident"), status=PostStatus.HIDDEN)
    response = staff_client.post(f"/community/questions/{hidden.id}/official",
                                 data={"body": "回答", "lang": "ja"})
    assert response.status_code == 400
    assert "公開されていない" in response.get_data(as_text=True)
    assert staff_client.post("/community/questions/999999/official",
                             data={"body": "回答"}).status_code == 404


def test_the_same_form_sent_twice_stores_one_answer(staff_client, asked):
    data = {"body": "窓口は2階です。", "lang": "ja", "submission_key": "k" * 32}
    assert staff_client.post(f"/community/questions/{asked.id}/official",
                             data=data).status_code == 302
    assert staff_client.post(f"/community/questions/{asked.id}/official",
                             data=data).status_code == 302
    assert len(official_answers(asked)) == 1


@pytest.fixture
def given(users, catalogue, asked):
    post = official.give_official_answer(asked, users["staff"], "最初の回答です。")
    db.session.commit()
    return post


def test_the_department_edits_and_the_previous_text_is_kept(staff_client, given):
    page = staff_client.get(f"/community/posts/{given.id}/official")
    assert page.status_code == 200 and "最初の回答です。" in page.get_data(as_text=True)
    response = staff_client.post(f"/community/posts/{given.id}/official",
                                 data={"body": "改訂した回答です。"})
    assert response.status_code == 302
    db.session.refresh(given)
    assert given.body == "改訂した回答です。" and "改訂した回答です。" in given.body_html
    assert given.edited_at is not None
    [kept] = db.session.scalars(select(Revision).where(Revision.post_id == given.id)).all()
    assert kept.number == 1 and kept.body == "最初の回答です。"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "community.official_edit")) == 1
    # an empty text is refused, the stored answer unchanged
    response = staff_client.post(f"/community/posts/{given.id}/official", data={"body": ""})
    assert response.status_code == 400
    db.session.refresh(given)
    assert given.body == "改訂した回答です。"


def test_mark_reviewed_sets_the_date_and_is_audited(staff_client, given):
    given.reviewed_at = given.reviewed_at.replace(year=2020)
    db.session.commit()
    assert staff_client.post(f"/community/posts/{given.id}/reviewed").status_code == 302
    db.session.refresh(given)
    assert given.reviewed_at.year > 2020
    assert db.session.scalar(select(AuditEntry.action).where(
        AuditEntry.action == "community.official_review")) == "community.official_review"


def test_other_departments_and_residents_cannot_edit(app, catalogue, make_user, given,
                                                     resident_client):
    other = sign_in(app.test_client(), make_user("staff", department=catalogue["health"]))
    assert other.get(f"/community/posts/{given.id}/official").status_code == 403
    assert other.post(f"/community/posts/{given.id}/reviewed").status_code == 403
    assert resident_client.post(f"/community/posts/{given.id}/official",
                                data={"body": "x"}).status_code == 403
    db.session.refresh(given)
    assert given.body == "最初の回答です。"


def test_a_resident_answer_is_not_an_official_one(staff_client, asked, make_user):
    theirs = answer(asked, make_user("resident"))
    db.session.commit()
    assert staff_client.get(f"/community/posts/{theirs.id}/official").status_code == 404
    assert staff_client.post(f"/community/posts/{theirs.id}/reviewed").status_code == 404


def test_mark_reviewed_needs_the_csrf_token(staff_client, given, csrf_on):
    assert staff_client.post(f"/community/posts/{given.id}/reviewed").status_code == 400


def _render(app, user, name, **context):
    with app.test_request_context("/"):
        g._login_user = user  # what Flask-Login's current_user reads
        return render_template(name, **context)


def test_the_question_page_form_is_shown_only_to_those_allowed(app, users, catalogue,
                                                               make_user, asked):
    page = _render(app, users["staff"], "community/_question_staff.html", question=asked)
    assert f'action="/community/questions/{asked.id}/official"' in page
    assert "Central Library" in page or "中央図書館" in page
    assert 'id="official-body"' in page
    for user in (users["resident"], users["official"],
                 make_user("staff", department=catalogue["health"])):
        assert _render(app, user, "community/_question_staff.html", question=asked).strip() == ""


def test_the_post_tools_show_for_the_department_only(app, users, catalogue, make_user, given,
                                                     asked):
    page = _render(app, users["staff"], "community/_post_tools_staff.html", post=given,
                   question=asked)
    assert f"/community/posts/{given.id}/official" in page
    assert f"/community/posts/{given.id}/reviewed" in page
    other = make_user("staff", department=catalogue["health"])
    assert "/official" not in _render(app, other, "community/_post_tools_staff.html",
                                      post=given, question=asked)
