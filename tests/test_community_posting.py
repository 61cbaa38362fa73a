"""Residents' posting operations: asking, answering, editing, deleting, votes,
accepting, following, the rules (silencing, first-post review, sizes) and the
double submit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.community import events, posting
from portal.community.models import Follow, Member, Post, PostStatus, Revision, Vote
from portal.community.posting import CommunityError
from portal.extensions import db
from portal.timeutil import utcnow
from tests import factories
from tests.community_factories import answer as make_answer
from tests.community_factories import question as make_question
from tests.community_factories import topic as make_topic


@pytest.fixture
def residents(catalogue, make_user):
    people = [make_user("resident") for _ in range(3)]
    for person in people:  # past the first-post review
        db.session.add(Member(user_id=person.id, trusted=True))
    db.session.flush()
    return people


@pytest.fixture
def seen(monkeypatch):
    calls = {"changed": [], "published": []}
    monkeypatch.setattr(events, "POST_CHANGED", [calls["changed"].append])
    monkeypatch.setattr(events, "ANSWER_PUBLISHED", [calls["published"].append])
    return calls


def ask(app, author, **values):
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        values.setdefault("title", "転入届はどこで出せますか")
        values.setdefault("body", "引っ越してきました。**窓口**を教えてください。")
        values.setdefault("lang", "ja")
        values.setdefault("services", [factories.service("library-loans")])
        return posting.ask(author, **values)


def test_ask_stores_rendered_body_tags_and_follow(app, residents, seen):
    asker = residents[0]
    moving = make_topic()
    post, created = ask(app, asker, topics=[moving])
    assert created and post.status == PostStatus.PUBLISHED
    assert post.body_html == "<p>引っ越してきました。<strong>窓口</strong>を教えてください。</p>"
    assert [s.slug for s in post.services] == ["library-loans"]
    assert [t.slug for t in post.topics] == ["moving"]
    assert db.session.scalar(select(Follow).where(Follow.question_id == post.id,
                                                  Follow.user_id == asker.id))
    assert seen["changed"] == [post]


def test_ask_needs_a_tag_a_title_and_fits_the_limits(app, residents):
    with pytest.raises(CommunityError, match="at least one tag"):
        ask(app, residents[0], services=[])
    with pytest.raises(CommunityError, match="title"):
        ask(app, residents[0], title="   ")
    with pytest.raises(CommunityError, match="at most 200"):
        ask(app, residents[0], title="あ" * 201)
    app.config["COMMUNITY_POST_MAX_CHARS"] = 50
    try:
        with pytest.raises(CommunityError, match="at most 50"):
            ask(app, residents[0], body="x" * 51)
    finally:
        app.config["COMMUNITY_POST_MAX_CHARS"] = 10000


def test_script_in_a_post_is_neutralised(app, residents):
    post, _ = ask(app, residents[0], body="<script>alert(1)</script> [x](javascript:alert(1))")
    assert "<script" not in post.body_html and "javascript:" not in post.body_html.split(
        "[x]")[0]
    assert 'href="javascript' not in post.body_html


def test_same_submission_key_stores_one_post(app, residents):
    first, created = ask(app, residents[0], submission_key="k1")
    again, created_again = ask(app, residents[0], submission_key="k1")
    assert created and not created_again and again.id == first.id
    assert db.session.scalar(select(func.count(Post.id))
                             .where(Post.author_id == residents[0].id)) == 1


def test_silenced_member_cannot_post(app, residents):
    member = db.session.get(Member, residents[0].id)
    member.silenced_until = utcnow() + timedelta(days=3)
    member.silence_reason = "繰り返しの広告"
    db.session.flush()
    with pytest.raises(CommunityError, match="Reason: 繰り返しの広告"):
        ask(app, residents[0])
    member.silenced_until = utcnow() - timedelta(minutes=1)
    db.session.flush()
    assert ask(app, residents[0])[1]


def test_first_post_waits_for_review(app, catalogue, make_user, seen):
    newcomer = make_user("resident")
    post, _ = ask(app, newcomer)
    assert post.status == PostStatus.PENDING
    post.status = PostStatus.PUBLISHED  # a moderator approved it
    db.session.flush()
    second, _ = ask(app, newcomer, title="二つ目の質問です")
    assert second.status == PostStatus.PUBLISHED
    app.config["COMMUNITY_FIRST_POST_REVIEW"] = False
    try:
        other = make_user("resident")
        assert ask(app, other)[0].status == PostStatus.PUBLISHED
    finally:
        app.config["COMMUNITY_FIRST_POST_REVIEW"] = True


def test_pending_answer_is_not_counted_nor_published(app, catalogue, residents, make_user,
                                                     seen):
    question, _ = ask(app, residents[0])
    newcomer = make_user("resident")
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        reply, _ = posting.answer(newcomer, question, body="市民課です。")
    assert reply.status == PostStatus.PENDING
    assert question.answer_count == 0 and seen["published"] == []


def test_answer_counts_and_hooks(app, residents, seen):
    question, _ = ask(app, residents[0])
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        reply, created = posting.answer(residents[1], question, body="市民課の窓口です。")
    assert created and question.answer_count == 1
    assert question.first_answer_at is not None
    assert seen["published"] == [reply] and reply in seen["changed"]


def test_edit_keeps_revisions(app, residents):
    question, _ = ask(app, residents[0], title="最初のタイトルです", body="最初の本文")
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        assert posting.edit(question, residents[0], title="直したタイトルです", body="直した本文")
        assert posting.edit(question, residents[0], title="直したタイトルです", body="三回目")
        assert not posting.edit(question, residents[0], title="直したタイトルです", body="三回目")
    revisions = db.session.scalars(select(Revision).where(Revision.post_id == question.id)
                                   .order_by(Revision.number)).all()
    assert [(r.number, r.title, r.body) for r in revisions] == [
        (1, "最初のタイトルです", "最初の本文"), (2, "直したタイトルです", "直した本文")]
    assert question.body_html == "<p>三回目</p>" and question.edited_at is not None


def test_only_the_author_edits_or_deletes(app, residents):
    question, _ = ask(app, residents[0])
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        with pytest.raises(CommunityError, match="your own posts"):
            posting.edit(question, residents[1], title="他人の編集です", body="x")
        with pytest.raises(CommunityError, match="your own posts"):
            posting.delete(question, residents[1])


def test_delete_is_soft_and_refreshes_counts(app, residents):
    question, _ = ask(app, residents[0])
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        reply, _ = posting.answer(residents[1], question, body="答えです。")
        posting.accept(question, reply, residents[0])
        posting.delete(reply, residents[1])
    assert reply.status == PostStatus.DELETED and reply.deleted_at is not None
    assert question.answer_count == 0 and question.first_answer_at is None
    assert question.accepted_answer_id is None
    assert db.session.get(Post, reply.id) is not None


def test_votes_change_withdraw_and_refuse(app, residents):
    question, _ = ask(app, residents[0])
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        with pytest.raises(CommunityError, match="your own post"):
            posting.vote(question, residents[0], 1)
        posting.vote(question, residents[1], 1)
        posting.vote(question, residents[2], 1)
        assert (question.score, question.up_votes, question.down_votes) == (2, 2, 0)
        with pytest.raises(CommunityError, match="already voted this post up"):
            posting.vote(question, residents[1], 1)
        posting.vote(question, residents[1], -1)
        assert (question.score, question.up_votes, question.down_votes) == (0, 1, 1)
        posting.vote(question, residents[1], 0)
        assert (question.score, question.up_votes, question.down_votes) == (1, 1, 0)
        with pytest.raises(CommunityError, match="not voted"):
            posting.vote(question, residents[1], 0)
    assert db.session.scalar(select(func.count(Vote.id))
                             .where(Vote.post_id == question.id)) == 1


def test_accept_only_by_the_asker_and_changeable(app, residents):
    question, _ = ask(app, residents[0])
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        first, _ = posting.answer(residents[1], question, body="一つ目")
        second, _ = posting.answer(residents[2], question, body="二つ目")
        with pytest.raises(CommunityError, match="Only the person who asked"):
            posting.accept(question, first, residents[1])
        posting.accept(question, first, residents[0])
        with pytest.raises(CommunityError, match="already the accepted"):
            posting.accept(question, first, residents[0])
        posting.accept(question, second, residents[0])
    assert question.accepted_answer_id == second.id


def test_follow_and_unfollow(app, residents):
    question, _ = ask(app, residents[0])
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        with pytest.raises(CommunityError, match="already follow"):
            posting.follow(question, residents[0])  # the asker follows automatically
        posting.follow(question, residents[1])
        posting.unfollow(question, residents[1])
        with pytest.raises(CommunityError, match="do not follow"):
            posting.unfollow(question, residents[1])


def test_refresh_counts_uses_public_answers_only(app, catalogue, residents):
    question = make_question(residents[0])
    official = make_answer(question, None, official_department=catalogue["library"])
    make_answer(question, residents[1], status=PostStatus.HIDDEN)
    question.answer_count = 99
    posting.refresh_counts(question)
    assert question.answer_count == 1
    assert question.first_official_answer_at == official.created_at


def test_community_name_unique_and_checked(app, residents):
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        assert posting.set_community_name(residents[0], "ひまわり", False)
        with pytest.raises(CommunityError, match="already taken"):
            posting.set_community_name(residents[1], "ひまわり", False)
        with pytest.raises(CommunityError, match="2 to 40"):
            posting.set_community_name(residents[1], "x", False)
        with pytest.raises(CommunityError, match="looks like one the portal gives"):
            posting.set_community_name(residents[1], "Resident 12", False)
        assert posting.set_community_name(residents[1], "", True)
    assert db.session.get(Member, residents[1].id).show_own_name
