"""Community moderation: reports (flags) and the automatic hide at the threshold,
the first-post review, the moderators' decisions with the reason the author sees,
silencing, the moderator permission, topics and the audit entries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g, render_template_string
from flask_babel import refresh
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.community import events
from portal.community.models import (
    Flag,
    Member,
    ModerationEntry,
    Post,
    PostStatus,
    Topic,
)
from portal.extensions import db
from portal.timeutil import utcnow
from tests.community_factories import answer, question, topic
from tests.conftest import sign_in

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}
QUEUE = "/admin/community/moderation"


def text(response) -> str:
    return response.get_data(as_text=True)


def flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def flag(client, post, reason="spam", note="", headers=EN):
    return client.post(f"/community/posts/{post.id}/flag", data={"reason": reason, "note": note},
                       headers=headers)


@pytest.fixture
def manager_client(manager_client):
    """The manager's client, reading English (the messages below are compared)."""
    manager_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return manager_client


@pytest.fixture
def thread(catalogue, make_user):
    asker, answerer = make_user("resident"), make_user("resident")
    asked = question(asker)
    answered = answer(asked, answerer)
    db.session.commit()
    return {"asker": asker, "answerer": answerer, "question": asked, "answer": answered}


@pytest.fixture
def seen_events():
    """What the hooks were told during the test."""
    seen = {"changed": [], "published": []}

    def changed(post):
        seen["changed"].append((post.id, post.status))

    def published(post):
        seen["published"].append(post.id)

    events.POST_CHANGED.append(changed)
    events.ANSWER_PUBLISHED.append(published)
    yield seen
    events.POST_CHANGED.remove(changed)
    events.ANSWER_PUBLISHED.remove(published)


def reporters(app, make_user, n):
    return [sign_in(app.test_client(), make_user("resident")) for _ in range(n)]


def reload(post) -> Post:
    db.session.expire_all()
    return db.session.get(Post, post.id)


# -- flags ------------------------------------------------------------------------------

def test_a_report_is_stored_and_sends_back_to_the_post(app, thread, make_user):
    client = reporters(app, make_user, 1)[0]
    response = flag(client, thread["answer"], "personal_data", "電話番号が書かれています")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/community/questions/{thread['question'].id}#post-{thread['answer'].id}")
    stored = db.session.scalars(select(Flag)).one()
    assert (stored.reason, stored.note) == ("personal_data", "電話番号が書かれています")
    assert reload(thread["answer"]).flag_count == 1
    assert reload(thread["answer"]).status == PostStatus.PUBLISHED
    assert ("success", "Thank you for your report. A moderator will look at this post.") \
        in flashes(client)


def test_the_post_is_hidden_at_exactly_the_threshold(app, thread, make_user, seen_events):
    assert app.config["COMMUNITY_FLAG_THRESHOLD"] == 3
    question_post = thread["question"]
    assert question_post.answer_count == 1
    first, second, third = reporters(app, make_user, 3)
    flag(first, thread["answer"])
    flag(second, thread["answer"], "offensive")
    assert reload(thread["answer"]).status == PostStatus.PUBLISHED  # 2 < 3
    assert seen_events["changed"] == []
    flag(third, thread["answer"], "off_topic")
    hidden = reload(thread["answer"])
    assert hidden.status == PostStatus.HIDDEN
    assert hidden.flag_count == 3
    # the question's counts follow: no public answer left
    assert reload(question_post).answer_count == 0
    assert reload(question_post).first_answer_at is None
    entry = db.session.scalars(select(ModerationEntry)).one()
    assert (entry.action, entry.moderator_id, entry.post_id) == ("hide", None, hidden.id)
    assert seen_events["changed"] == [(hidden.id, "hidden")]
    assert ("success", "Thank you for your report. The post has been hidden until a moderator "
            "reviews it.") in flashes(third)


def test_the_threshold_is_configurable(app, thread, make_user):
    app.config["COMMUNITY_FLAG_THRESHOLD"] = 2
    try:
        first, second = reporters(app, make_user, 2)
        flag(first, thread["question"])
        assert reload(thread["question"]).status == PostStatus.PUBLISHED
        flag(second, thread["question"])
        assert reload(thread["question"]).status == PostStatus.HIDDEN
    finally:
        app.config["COMMUNITY_FLAG_THRESHOLD"] = 3


def test_flagging_twice_counts_once_and_says_so(app, thread, make_user):
    client = reporters(app, make_user, 1)[0]
    flag(client, thread["answer"])
    flag(client, thread["answer"], "offensive")
    assert db.session.scalar(select(func.count(Flag.id))) == 1
    assert reload(thread["answer"]).flag_count == 1
    assert ("error", "You have already reported this post. Thank you: a moderator will look "
            "at it.") in flashes(client)


def test_one_account_flagging_many_times_never_hides(app, thread, make_user):
    client = reporters(app, make_user, 1)[0]
    for _ in range(5):
        flag(client, thread["answer"])
    assert reload(thread["answer"]).status == PostStatus.PUBLISHED


def test_flagging_ones_own_post_is_refused(app, thread):
    client = sign_in(app.test_client(), thread["answerer"])
    flag(client, thread["answer"])
    assert db.session.scalar(select(func.count(Flag.id))) == 0
    assert ("error", "You cannot report your own post.") in flashes(client)


def test_flagging_a_post_that_is_not_public_is_refused(app, thread, make_user):
    pending = answer(thread["question"], make_user("resident"), status=PostStatus.PENDING)
    db.session.commit()
    client = reporters(app, make_user, 1)[0]
    flag(client, pending)
    assert db.session.scalar(select(func.count(Flag.id))) == 0
    assert ("error", "This post is not public: there is nothing to report.") in flashes(client)


def test_a_report_needs_a_known_reason_and_a_short_note(app, thread, make_user):
    client = reporters(app, make_user, 1)[0]
    flag(client, thread["answer"], reason="")
    assert ("error", "Choose why you are reporting this post.") in flashes(client)
    flag(client, thread["answer"], reason="boring")
    flag(client, thread["answer"], note="x" * 501)
    assert db.session.scalar(select(func.count(Flag.id))) == 0


def test_reporting_needs_an_account(client, thread):
    response = flag(client, thread["answer"])
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    assert db.session.scalar(select(func.count(Flag.id))) == 0


def test_staff_may_report_too(staff_client, thread):
    flag(staff_client, thread["answer"])
    assert db.session.scalar(select(func.count(Flag.id))) == 1


def test_reporting_an_unknown_post_is_404(resident_client):
    assert flag(resident_client, Post(id=999999)).status_code == 404


def test_decisions_need_the_forms_token(app, thread, make_user, manager_client, csrf_on):
    client = reporters(app, make_user, 1)[0]
    assert flag(client, thread["answer"]).status_code == 400  # no token
    assert db.session.scalar(select(func.count(Flag.id))) == 0
    post = thread["answer"]
    assert manager_client.post(f"/admin/community/posts/{post.id}/hide",
                               data={"reason": "x"}).status_code == 400
    page = text(manager_client.get(f"/admin/community/members/{thread['answerer'].id}"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    response = manager_client.post(f"/admin/community/posts/{post.id}/hide",
                                   data={"reason": "理由", "csrf_token": token.group(1)})
    assert response.status_code == 302
    assert reload(post).status == PostStatus.HIDDEN


# -- the report form under each post ----------------------------------------------------

def render_tools(app, user, post, question_post, locale="en"):
    with app.test_request_context(headers={"Accept-Language": locale}):
        refresh()  # the locale of this request, not one cached by an earlier render
        g._login_user = user
        return render_template_string(
            '{% include "community/_post_tools_moderation.html" %}', post=post,
            question=question_post)


def test_the_report_form_shows_for_others_posts_with_unique_ids(app, thread, make_user):
    reader = make_user("resident")
    html = render_tools(app, reader, thread["answer"], thread["question"])
    assert "<details" in html and "Report this post" in html
    assert f'id="flag-{thread["answer"].id}-note"' in html
    assert f'id="flag-{thread["answer"].id}-reason-0"' in html
    both = html + render_tools(app, reader, thread["question"], thread["question"])
    ids = [part.split('"')[0] for part in both.split(' id="')[1:]]
    assert len(ids) == len(set(ids))
    assert "報告" in render_tools(app, reader, thread["answer"], thread["question"], "ja")


def test_the_report_form_is_not_shown_on_ones_own_post(app, thread):
    html = render_tools(app, thread["answerer"], thread["answer"], thread["question"])
    assert "Report this post" not in html


def test_a_reported_post_says_so_instead_of_the_form(app, thread, make_user):
    reader = make_user("resident")
    flag(sign_in(app.test_client(), reader), thread["answer"])
    html = render_tools(app, reader, thread["answer"], thread["question"])
    assert "You reported this post." in html and "<form" not in html
    # the question next to it still has its form
    assert "<form" in render_tools(app, reader, thread["question"], thread["question"])


# -- the queue ----------------------------------------------------------------------------

def test_the_queue_shows_pending_and_reported_posts_with_counts(app, thread, make_user,
                                                                manager_client):
    newcomer = make_user("resident")
    answer(thread["question"], newcomer, body="初めての投稿です", status=PostStatus.PENDING)
    db.session.commit()
    first, second = reporters(app, make_user, 2)
    flag(first, thread["answer"], "spam", "宣伝のリンクです")
    flag(second, thread["answer"], "spam")
    html = text(manager_client.get(QUEUE, headers=EN))
    assert "1 post waiting for review" in html
    assert "1 reported post" in html
    assert "初めての投稿です" in html
    assert "2 open reports" in html
    assert "Spam or advertising" in html and "宣伝のリンクです" in html
    assert f'id="item-{thread["answer"].id}"' in html
    assert "Moderation (2)" in html  # the console's navigation


def test_the_queue_marks_repeat_offenders(app, thread, make_user, manager_client, users):
    from portal.community import moderation

    earlier = answer(thread["question"], thread["answerer"], body="前の投稿")
    moderation.hide(earlier, moderator=users["manager"], reason="個人情報")
    db.session.commit()
    for client in reporters(app, make_user, 1):
        flag(client, thread["answer"])
    html = text(manager_client.get(QUEUE, headers=EN))
    assert "Repeat offender" in html
    assert "1 post hidden or deleted by a moderator in the last 90 days" in html
    assert "Community post hidden" not in html  # no raw audit words


def test_offences_older_than_90_days_do_not_count(thread, users):
    from portal.community import moderation

    db.session.add(ModerationEntry(action="hide", user_id=thread["answerer"].id,
                                   moderator_id=users["manager"].id,
                                   created_at=utcnow() - timedelta(days=91)))
    db.session.add(ModerationEntry(action="hide", user_id=thread["answerer"].id,
                                   moderator_id=None, created_at=utcnow()))  # automatic
    db.session.flush()
    assert moderation.offences([thread["answerer"].id]) == {}


def test_the_queue_reads_a_flat_number_of_queries(app, thread, make_user, manager_client,
                                                  count_queries):
    def queries() -> int:
        with count_queries() as counter:
            assert manager_client.get(QUEUE).status_code == 200
        return counter.count

    answer(thread["question"], make_user("resident"), status=PostStatus.PENDING)
    flag(reporters(app, make_user, 1)[0], thread["answer"])
    db.session.commit()
    few = queries()
    for _ in range(4):
        asked = question(make_user("resident"), title="ごみの出し方")
        answer(asked, make_user("resident"), status=PostStatus.PENDING)
        reported = answer(asked, make_user("resident"))
        db.session.commit()
        flag(reporters(app, make_user, 1)[0], reported, note="ひどい")
    assert queries() == few


def test_the_queue_in_japanese(manager_client, thread):
    html = text(manager_client.get(QUEUE, headers=JA))
    assert "モデレーション" in html and "確認待ち" in html


# -- decisions ------------------------------------------------------------------------------

def test_approving_a_first_post_publishes_it_and_trusts_the_member(
        thread, make_user, manager_client, users, seen_events):
    newcomer = make_user("resident")
    pending = answer(thread["question"], newcomer, status=PostStatus.PENDING)
    db.session.commit()
    assert reload(thread["question"]).answer_count == 1
    response = manager_client.post(f"/admin/community/posts/{pending.id}/approve", headers=EN)
    assert response.status_code == 302
    assert reload(pending).status == PostStatus.PUBLISHED
    assert db.session.get(Member, newcomer.id).trusted is True
    assert reload(thread["question"]).answer_count == 2
    assert seen_events["published"] == [pending.id]
    entry = db.session.scalars(select(ModerationEntry)).one()
    assert (entry.action, entry.moderator_id, entry.user_id) == (
        "approve", users["manager"].id, newcomer.id)
    audit = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "community.approve")).one()
    assert (audit.actor_id, audit.target_type, audit.target_id) == (
        users["manager"].id, "community_posts", str(pending.id))
    # approving again is refused with a message, nothing written
    manager_client.post(f"/admin/community/posts/{pending.id}/approve")
    assert ("error", "This post is not waiting for review: nothing was changed.") \
        in flashes(manager_client)
    assert db.session.scalar(select(func.count(ModerationEntry.id))) == 1


def test_a_trusted_members_later_posts_need_no_review(thread, make_user, users):
    """The member's row says so; posting (helper "posting") reads ``trusted``."""
    from portal.community import moderation

    newcomer = make_user("resident")
    first = answer(thread["question"], newcomer, status=PostStatus.PENDING)
    assert db.session.get(Member, newcomer.id) is None
    moderation.approve(first, moderator=users["manager"])
    assert db.session.get(Member, newcomer.id).trusted


def test_restoring_a_hidden_post_closes_its_reports(app, thread, make_user, manager_client,
                                                    users, seen_events):
    for client in reporters(app, make_user, 3):
        flag(client, thread["answer"])
    assert reload(thread["answer"]).status == PostStatus.HIDDEN
    manager_client.post(f"/admin/community/posts/{thread['answer'].id}/restore",
                        data={"reason": "問題ありません"})
    restored = reload(thread["answer"])
    assert restored.status == PostStatus.PUBLISHED and restored.flag_count == 0
    assert restored.moderation_reason == ""
    assert db.session.scalar(select(func.count(Flag.id)).where(Flag.resolved_at.is_(None))) == 0
    assert {f.resolved_by_id for f in db.session.scalars(select(Flag))} == {users["manager"].id}
    assert reload(thread["question"]).answer_count == 1
    assert seen_events["published"] == [restored.id]
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "community.restore")) == 1
    # it left the queue
    assert "0 reported posts" in text(manager_client.get(QUEUE, headers=EN))


def test_hiding_stores_the_reason_the_author_sees(thread, manager_client, seen_events):
    post = thread["answer"]
    response = manager_client.post(f"/admin/community/posts/{post.id}/hide",
                                   data={"reason": "個人の電話番号が含まれています"})
    assert response.status_code == 302
    hidden = reload(post)
    assert hidden.status == PostStatus.HIDDEN
    assert hidden.moderation_reason == "個人の電話番号が含まれています"
    assert reload(thread["question"]).answer_count == 0
    assert seen_events["changed"] == [(post.id, "hidden")]
    audit = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "community.hide")).one()
    assert audit.target_id == str(post.id)
    recent = text(manager_client.get(QUEUE, headers=EN))
    assert "個人の電話番号が含まれています" in recent  # recent decisions


def test_hiding_or_deleting_needs_a_reason(thread, manager_client):
    post = thread["answer"]
    for action in ("hide", "delete"):
        manager_client.post(f"/admin/community/posts/{post.id}/{action}", data={"reason": " "})
        assert ("error", "Give a reason: the author sees it with their post.") \
            in flashes(manager_client)
    assert reload(post).status == PostStatus.PUBLISHED
    assert db.session.scalar(select(func.count(ModerationEntry.id))) == 0


def test_keeping_a_post_hidden_by_reports_upholds_them(app, thread, make_user,
                                                       manager_client):
    for client in reporters(app, make_user, 3):
        flag(client, thread["question"])
    manager_client.post(f"/admin/community/posts/{thread['question'].id}/hide",
                        data={"reason": "宣伝です"})
    kept = reload(thread["question"])
    assert kept.status == PostStatus.HIDDEN and kept.flag_count == 0
    assert kept.moderation_reason == "宣伝です"
    # hiding it again is refused
    manager_client.post(f"/admin/community/posts/{kept.id}/hide", data={"reason": "再度"})
    assert ("error", "This post is already hidden: nothing was changed.") \
        in flashes(manager_client)


def test_deleting_is_soft_and_keeps_the_reason(thread, manager_client):
    post = thread["question"]
    manager_client.post(f"/admin/community/posts/{post.id}/delete",
                        data={"reason": "重複した質問です"})
    deleted = reload(post)
    assert deleted.status == PostStatus.DELETED and deleted.deleted_at is not None
    assert deleted.moderation_reason == "重複した質問です"
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "community.delete")) == 1
    manager_client.post(f"/admin/community/posts/{post.id}/delete", data={"reason": "again"})
    assert ("error", "This post was already deleted: nothing was changed.") \
        in flashes(manager_client)
    manager_client.post(f"/admin/community/posts/{post.id}/restore")
    assert ("error", "This post is not hidden: nothing was changed.") in flashes(manager_client)


def test_decisions_on_an_unknown_post_are_404(manager_client):
    assert manager_client.post("/admin/community/posts/999999/hide",
                               data={"reason": "x"}).status_code == 404


# -- permission ----------------------------------------------------------------------------

def test_staff_moderate_only_with_the_permission(app, thread, users, staff_client):
    assert staff_client.get(QUEUE).status_code == 403
    assert staff_client.post(f"/admin/community/posts/{thread['answer'].id}/hide",
                             data={"reason": "x"}).status_code == 403
    assert "Moderation" not in text(staff_client.get("/admin/", headers=EN))
    users["staff"].community_moderator = True
    db.session.commit()
    assert staff_client.get(QUEUE).status_code == 200
    assert "Moderation" in text(staff_client.get("/admin/", headers=EN))
    staff_client.post(f"/admin/community/posts/{thread['answer'].id}/hide", data={"reason": "x"})
    assert reload(thread["answer"]).status == PostStatus.HIDDEN


def test_a_resident_or_official_cannot_moderate(resident_client, official_client):
    assert resident_client.get(QUEUE).status_code == 403
    assert official_client.get(QUEUE).status_code == 403


def test_the_admin_gives_staff_the_moderator_permission(admin_client, users):
    staff = users["staff"]
    page = text(admin_client.get(f"/admin/accounts/{staff.id}", headers=EN))
    assert "Moderates the community" in page
    response = admin_client.post(f"/admin/accounts/{staff.id}", data={
        "role": "staff", "department_id": staff.department_id, "active": "y",
        "community_moderator": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert staff.community_moderator is True
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "community.moderator_change")).one()
    assert (entry.actor_id, entry.target_id, entry.data["moderator"]) == (
        users["admin"].id, str(staff.id), True)
    # saving again unchanged writes nothing; taking it away is recorded
    admin_client.post(f"/admin/accounts/{staff.id}", data={
        "role": "staff", "department_id": staff.department_id, "active": "y",
        "community_moderator": "y"})
    admin_client.post(f"/admin/accounts/{staff.id}", data={
        "role": "staff", "department_id": staff.department_id, "active": "y"})
    db.session.expire_all()
    assert staff.community_moderator is False
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "community.moderator_change")) == 2


# -- silencing -------------------------------------------------------------------------------

def test_silencing_sets_the_dates_and_is_audited(thread, manager_client, users):
    person = thread["answerer"]
    page = text(manager_client.get(f"/admin/community/members/{person.id}", headers=EN))
    assert 'value="7"' in page  # COMMUNITY_SILENCE_DAYS
    before = utcnow()
    response = manager_client.post(f"/admin/community/members/{person.id}/silence",
                                   data={"days": "14", "reason": "繰り返しの宣伝"}, headers=EN)
    assert response.status_code == 302
    member = db.session.get(Member, person.id)
    db.session.refresh(member)
    assert before + timedelta(days=14) <= member.silenced_until <= utcnow() + timedelta(days=14)
    assert member.silence_reason == "繰り返しの宣伝"
    entry = db.session.scalars(select(ModerationEntry)).one()
    assert (entry.action, entry.days, entry.user_id, entry.post_id) == (
        "silence", 14, person.id, None)
    audit = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "community.silence")).one()
    assert (audit.target_type, audit.target_id, audit.data["days"]) == (
        "community_members", str(person.id), 14)
    page = text(manager_client.get(f"/admin/community/members/{person.id}", headers=EN))
    assert "Silenced" in page and "繰り返しの宣伝" in page

    manager_client.post(f"/admin/community/members/{person.id}/unsilence")
    db.session.refresh(member)
    assert member.silenced_until is None and member.silence_reason == ""
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.action == "community.unsilence")) == 1
    manager_client.post(f"/admin/community/members/{person.id}/unsilence")
    assert ("error", "This member is not silenced: nothing was changed.") \
        in flashes(manager_client)


@pytest.mark.parametrize("days", ["0", "366", "", "abc"])
def test_silencing_needs_1_to_365_days(thread, manager_client, days):
    person = thread["answerer"]
    response = manager_client.post(f"/admin/community/members/{person.id}/silence",
                                   data={"days": days, "reason": "理由"}, headers=EN)
    assert response.status_code == 400
    assert "Enter a number of days from 1 to 365." in text(response)
    assert "理由" in text(response)  # the typed reason is kept
    assert db.session.get(Member, person.id) is None


def test_silencing_needs_a_reason(thread, manager_client):
    response = manager_client.post(
        f"/admin/community/members/{thread['answerer'].id}/silence",
        data={"days": "3", "reason": ""}, headers=EN)
    assert response.status_code == 400
    assert "Give a reason: the member sees it when they try to post." in text(response)


def test_the_member_page_shows_the_history(app, thread, make_user, manager_client):
    flag(reporters(app, make_user, 1)[0], thread["answer"], "offensive", "失礼な表現")
    page = text(manager_client.get(f"/admin/community/members/{thread['answerer'].id}",
                                   headers=EN))
    assert "Offensive or abusive" in page and "失礼な表現" in page
    assert "Reports received" in page and "Moderation history" in page


def test_only_residents_have_a_member_page(manager_client, users):
    assert manager_client.get(f"/admin/community/members/{users['staff'].id}").status_code == 404
    assert manager_client.get("/admin/community/members/999999").status_code == 404


# -- topics ------------------------------------------------------------------------------------

def test_moderators_create_and_edit_topics(manager_client, catalogue, users):
    response = manager_client.post("/admin/community/topics/new", data={
        "slug": "childcare", "name_ja": "子育て", "name_en": "Childcare", "active": "y"})
    assert response.status_code == 302
    created = db.session.scalars(select(Topic).where(Topic.slug == "childcare")).one()
    assert (created.name_ja, created.name_en, created.active) == ("子育て", "Childcare", True)
    listing = text(manager_client.get("/admin/community/topics", headers=EN))
    assert "子育て" in listing and "Childcare" in listing
    manager_client.post(f"/admin/community/topics/{created.id}", data={
        "slug": "childcare", "name_ja": "子育て・保育", "name_en": "Childcare"})
    db.session.expire_all()
    assert (created.name_ja, created.active) == ("子育て・保育", False)
    actions = list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("community.topic%")).order_by(AuditEntry.id)))
    assert actions == ["community.topic_create", "community.topic_update"]


@pytest.mark.parametrize("slug, name_ja, message", [
    ("Moving House", "引っ越し", "lower-case letters, digits and hyphens"),
    ("library-loans", "図書館", "A service has this short name"),
    ("moving", "引っ越し", "Another topic already has this short name."),
    ("new-topic", "", "Give the topic a name in at least one language."),
])
def test_bad_topics_are_refused_with_a_message(manager_client, catalogue, slug, name_ja,
                                               message):
    topic("moving")
    db.session.commit()
    response = manager_client.post("/admin/community/topics/new", data={
        "slug": slug, "name_ja": name_ja, "name_en": ""}, headers=EN)
    assert response.status_code == 400
    assert message in text(response)
    assert db.session.scalar(select(func.count(Topic.id))) == 1


def test_staff_without_the_permission_cannot_edit_topics(staff_client):
    assert staff_client.get("/admin/community/topics").status_code == 403
    assert staff_client.post("/admin/community/topics/new", data={
        "slug": "x", "name_en": "X"}).status_code == 403


def test_the_audit_log_names_moderation_in_words(thread, admin_client, users):
    from portal.community import moderation

    moderation.hide(thread["answer"], moderator=users["admin"], reason="理由")
    moderation.silence(thread["answerer"], moderator=users["admin"], days=3, reason="理由")
    db.session.commit()
    page = text(admin_client.get("/admin/audit", headers=EN))
    assert "Community post hidden" in page and "Community member silenced" in page


def test_silencing_a_console_account_is_refused(users):
    from portal.community import moderation

    with pytest.raises(moderation.ModerationError):
        moderation.silence(users["staff"], moderator=users["admin"], days=3, reason="x")
    assert users["staff"].role == Role.STAFF


def test_dismissing_the_reports_of_a_public_post_keeps_it_public(app, thread, make_user,
                                                                  manager_client, users):
    """Two reports (under the threshold): the moderator keeps the post; it leaves the
    queue, and the reporters' flags are closed (they cannot report it again)."""
    for client in reporters(app, make_user, 2):
        flag(client, thread["answer"])
    assert reload(thread["answer"]).status == PostStatus.PUBLISHED
    assert "Dismiss the reports" in manager_client.get(QUEUE).get_data(as_text=True)
    manager_client.post(f"/admin/community/posts/{thread['answer'].id}/restore",
                        data={"reason": ""})
    assert ("success", "The post is public and its reports are closed.") \
        in flashes(manager_client)
    kept = reload(thread["answer"])
    assert kept.status == PostStatus.PUBLISHED and kept.flag_count == 0
    assert db.session.scalar(select(func.count(Flag.id)).where(Flag.resolved_at.is_(None))) == 0
    entry = db.session.scalars(select(ModerationEntry)).one()
    assert (entry.action, entry.moderator_id) == ("restore", users["manager"].id)
    assert "Dismiss the reports" not in manager_client.get(QUEUE).get_data(as_text=True)
    # a post without open reports: nothing to dismiss
    manager_client.post(f"/admin/community/posts/{thread['answer'].id}/restore",
                        data={"reason": ""})
    assert ("error", "This post is not hidden: nothing was changed.") in flashes(manager_client)
