"""Follow-up e-mails: a new answer notifies a question's followers (not its author);
a daily digest through the outbox, at most one a day, in the follower's language,
never to someone who may not be contacted."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import pytest
from sqlalchemy import func, select

from portal.community import digest, events
from portal.community.markdown import render as render_markdown
from portal.community.models import Follow, Member, Notification, PostStatus
from portal.extensions import db
from portal.mail.models import OutboundMessage
from portal.mail.outbox import send_due_messages
from portal.residents.models import Resident
from portal.timeutil import local_day_start, local_today
from tests.community_factories import answer, question


@pytest.fixture
def thread(catalogue, make_user):
    asker = make_user("resident", locale="ja")
    follower = make_user("resident", locale="en")
    asked = question(asker, "転入届はどこで出せますか", services=("resident-certificate",))
    for user in (asker, follower):
        db.session.add(Follow(question_id=asked.id, user_id=user.id))
    db.session.commit()
    return {"asker": asker, "follower": follower, "question": asked}


def publish(asked, author, body="市民課の窓口で出せます。", **values):
    post = answer(asked, author, body, **values)
    post.body_html = str(render_markdown(body))
    events.answer_published(post)
    db.session.commit()
    return post


def notes(user=None):
    stmt = select(Notification)
    if user is not None:
        stmt = stmt.where(Notification.user_id == user.id)
    return db.session.scalars(stmt).all()


def mails(outbox_dir):
    send_due_messages()
    return [email.message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted(outbox_dir.glob("*.eml"))]


def test_followers_are_notified_except_the_answer_author(thread):
    post = publish(thread["question"], thread["follower"])
    assert [n.user_id for n in notes()] == [thread["asker"].id]
    events.answer_published(post)  # published again (restored): still one notification
    assert len(notes()) == 1


def test_one_digest_in_the_followers_language(thread, make_user, outbox_dir):
    someone = make_user("resident")
    publish(thread["question"], someone, "市民課の**窓口**で出せます。\n\n平日のみです。")
    publish(thread["question"], make_user("resident"), "オンラインでも出せます。")
    assert digest.send_digests() == 2
    sent = {m["To"]: m for m in mails(outbox_dir)}
    ja = sent[thread["asker"].email].get_content()
    assert "転入届はどこで出せますか" in ja and "2 件の新しい回答" in ja
    assert "市民課の窓口で出せます。 平日のみです。" in ja  # plain text, no Markdown
    assert "/community/questions/" in ja and "フォローをやめる" in ja
    en = sent[thread["follower"].email]
    assert "new answers to questions you follow" in en["Subject"]
    assert "Stop following" in en.get_content()
    assert all(n.digested_at is not None and n.outbound_message_id for n in notes())


def test_at_most_one_digest_a_day(thread, make_user, outbox_dir):
    """One a local calendar day: a digest at 00:30 keeps the 23:30 run waiting; the next
    day's run at 00:10 sends, though less than 24 hours have passed."""
    publish(thread["question"], make_user("resident"))
    morning = local_day_start(local_today()) + timedelta(minutes=30)
    assert digest.send_digests(morning) == 2
    publish(thread["question"], make_user("resident"), "別の回答です。")
    assert digest.send_digests(morning + timedelta(hours=23)) == 0  # the same day: waits
    assert sum(n.digested_at is None for n in notes()) == 2
    next_day = morning + timedelta(hours=23, minutes=40)
    assert digest.send_digests(next_day) == 2
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 4
    member = db.session.get(Member, thread["asker"].id)
    assert member.last_digest_at == next_day


def test_do_not_contact_inactive_and_no_address_get_none(thread, make_user, outbox_dir):
    db.session.add(Resident(family_name="市民", given_name="花子", user_id=thread["asker"].id,
                            do_not_contact=True))
    thread["follower"].active = False
    db.session.commit()
    publish(thread["question"], make_user("resident"))
    assert digest.send_digests() == 0
    assert mails(outbox_dir) == []
    # dropped, not kept for later
    assert all(n.digested_at is not None and n.outbound_message_id is None for n in notes())


def test_answers_no_longer_public_are_left_out(thread, make_user, outbox_dir):
    gone = publish(thread["question"], make_user("resident"), "消された回答です。")
    publish(thread["question"], make_user("resident"), "残っている回答です。")
    gone.status = PostStatus.DELETED
    db.session.commit()
    assert digest.send_digests() == 2
    body = next(m for m in mails(outbox_dir) if m["To"] == thread["asker"].email).get_content()
    assert "残っている回答です。" in body and "消された回答です。" not in body


def test_nothing_left_means_no_email(thread, make_user, outbox_dir):
    gone = publish(thread["question"], make_user("resident"))
    gone.status = PostStatus.HIDDEN
    db.session.commit()
    assert digest.send_digests() == 0 and mails(outbox_dir) == []


def test_official_answers_are_labelled(thread, users, catalogue, outbox_dir):
    from portal.community import official

    manager = users["manager"]
    official.give_official_answer(thread["question"], manager, "市民課です。窓口は1階です。")
    db.session.commit()
    assert digest.send_digests() == 2
    body = next(m for m in mails(outbox_dir) if m["To"] == thread["follower"].email)
    assert "[Official answer — Citizens Affairs Division]" in body.get_content()


def test_the_cli_and_the_daily_task_send_them(thread, make_user, runner, outbox_dir):
    from portal import periodic

    publish(thread["question"], make_user("resident"))
    assert "community_digests" in [t.name for t in periodic.TASKS]
    result = runner.invoke(args=["community", "send-digests"])
    assert result.exit_code == 0 and "Digest e-mails queued: 2" in result.output
