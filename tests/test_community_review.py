"""Defects found in the review of issue 12 (community Q&A and the FAQ), each pinned
by a test that failed before its fix."""

from __future__ import annotations

from sqlalchemy import select

from portal.community import digest, events, posting
from portal.community.markdown import render as render_markdown
from portal.community.models import Follow, Notification
from portal.extensions import db
from portal.mail.models import OutboundMessage
from tests.community_factories import answer, question
from tests.conftest import sign_in

EN = {"Accept-Language": "en"}
JA = {"Accept-Language": "ja"}


def text(response) -> str:
    return response.get_data(as_text=True)


def test_who_stops_following_gets_no_digest_about_the_question(catalogue, make_user):
    asker, follower, answerer = (make_user("resident") for _ in range(3))
    asked = question(asker, "転入届はどこで出せますか", services=("resident-certificate",))
    db.session.add_all([Follow(question_id=asked.id, user_id=user.id)
                        for user in (asker, follower)])
    db.session.flush()
    reply = answer(asked, answerer, "市民課の窓口で出せます。")
    reply.body_html = str(render_markdown(reply.body))
    events.answer_published(reply)
    db.session.commit()
    posting.unfollow(asked, follower)
    db.session.commit()
    assert db.session.scalars(select(Notification).where(
        Notification.user_id == follower.id)).all() == []
    assert digest.send_digests() == 1  # the asker only
    assert [m.to_address for m in db.session.scalars(select(OutboundMessage))] == [asker.email]


def test_a_moderator_deleting_the_accepted_answer_withdraws_the_acceptance(
        manager_client, catalogue, make_user):
    asker, answerer = make_user("resident"), make_user("resident")
    asked = question(asker)
    accepted = answer(asked, answerer)
    asked.accepted_answer_id = accepted.id
    db.session.commit()
    assert "accepted answer" in text(manager_client.get("/community/", headers=EN))
    response = manager_client.post(f"/admin/community/posts/{accepted.id}/delete",
                                   data={"reason": "Advertising"}, headers=EN)
    assert response.status_code == 302
    db.session.expire_all()
    assert asked.accepted_answer_id is None and asked.answer_count == 0
    assert "accepted answer" not in text(manager_client.get("/community/", headers=EN))


def test_a_moderator_is_not_told_someone_elses_hidden_post_is_theirs(
        manager_client, client, catalogue, make_user):
    asker, answerer = make_user("resident"), make_user("resident")
    asked = question(asker)
    hidden = answer(asked, answerer, status="hidden", moderation_reason="Advertising")
    db.session.commit()
    html = text(manager_client.get(f"/community/questions/{asked.id}", headers=EN))
    assert "Only moderators see this post: Hidden." in html
    assert "Your post is hidden" not in html
    sign_in(client, answerer)
    html = text(client.get(f"/community/questions/{asked.id}", headers=EN))
    assert "Your post is hidden from the public." in html and f"post-{hidden.id}" in html


def test_staff_get_no_empty_your_answer_section(staff_client, client, catalogue, make_user):
    asked = question(make_user("resident"))
    db.session.commit()
    html = text(staff_client.get(f"/community/questions/{asked.id}", headers=EN))
    assert 'id="official-answer-title"' in html and 'id="answer-title"' not in html
    html = text(client.get(f"/community/questions/{asked.id}", headers=EN))
    assert 'id="answer-title"' in html and "Sign in to answer" in html


def test_marking_an_faq_entry_reviewed_says_the_next_date_in_the_readers_format(
        staff_client, catalogue):
    from datetime import timedelta

    from flask_babel import force_locale, format_date

    from portal.faq.operations import add_months
    from portal.timeutil import local_today
    from tests.community_factories import faq_entry

    entry = faq_entry(catalogue["library"], review_on=local_today() - timedelta(days=3))
    db.session.commit()
    staff_client.post(f"/admin/faq/{entry.id}/review", data={"note": ""}, headers=JA)
    with staff_client.session_transaction() as session:
        [(_category, message)] = session["_flashes"]
    with force_locale("ja"):
        shown = format_date(add_months(local_today(), 12))
    assert shown in message and add_months(local_today(), 12).isoformat() not in message


def test_a_hidden_accepted_answer_is_not_shown_as_accepted_in_the_list(app, client, catalogue,
                                                                      make_user):
    from portal.community.models import PostStatus
    from tests.community_factories import answer, question

    asked = question(make_user("resident"), title="Accepted but hidden")
    accepted = answer(asked, make_user("resident"))
    asked.accepted_answer_id = accepted.id
    db.session.commit()
    mark = 'class="community-accepted-mark"'
    assert mark in client.get("/community/").get_data(as_text=True)
    accepted.status = PostStatus.HIDDEN
    db.session.commit()
    assert mark not in client.get("/community/").get_data(as_text=True)


def test_no_report_and_no_acceptance_under_a_question_that_is_not_public(app, catalogue,
                                                                        make_user):
    import pytest

    from portal.community import moderation, posting
    from portal.community.models import PostStatus
    from portal.community.moderation import ModerationError
    from portal.community.posting import CommunityError
    from tests.community_factories import answer, question

    asker = make_user("resident")
    asked = question(asker, status=PostStatus.HIDDEN)
    reply = answer(asked, make_user("resident"))
    with app.test_request_context("/", method="POST", headers={"Accept-Language": "en"}):
        with pytest.raises(ModerationError, match="not public"):
            moderation.flag_post(reply, user=make_user("resident"), reason="spam", note="")
        with pytest.raises(CommunityError, match="not public"):
            posting.accept(asked, reply, asker)
