"""The demo's community: questions in both languages with answers, votes, accepted
and official answers, follows, a pending and a flagged post, FAQ entries with their
first version and the 子ども手当 synonym — once, however often ``portal demo`` runs."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.community import demo, events
from portal.community.models import Flag, Follow, Post, PostStatus, Topic, Vote
from portal.demo import generator
from portal.extensions import db
from portal.faq.models import FaqEntry, FaqVersion, SynonymGroup


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_demo_community_is_filled_once(app, catalogue):
    generator.generate(residents=30, months=1, seed=3)
    seen = {"posts": 0, "faq": 0}

    def on_post(_post):
        seen["posts"] += 1

    def on_faq(_entry):
        seen["faq"] += 1

    events.POST_CHANGED.append(on_post)
    events.FAQ_CHANGED.append(on_faq)
    try:
        added = demo.fill_demo()
        again = demo.fill_demo()
    finally:
        events.POST_CHANGED.remove(on_post)
        events.FAQ_CHANGED.remove(on_faq)
    questions = db.session.scalars(select(Post).where(Post.kind == "question")).all()
    assert added["questions"] == len(demo.QUESTIONS) and again == {
        "topics": 0, "questions": 0, "answers": 0, "faq": 0}
    assert sum(q.lang == "ja" for q in questions) >= 30
    assert sum(q.lang == "en" for q in questions) >= 10
    assert count(Post, Post.official.is_(True)) >= 5
    assert count(Post, Post.status == PostStatus.PENDING) == 1
    assert count(Flag) == 1 and count(Vote) > 20 and count(Follow) > len(questions)
    assert any(q.accepted_answer_id for q in questions)
    assert count(Topic) == len(demo.TOPICS)
    faq = db.session.scalars(select(FaqEntry)).all()
    assert 3 <= len(faq) <= 5 and count(FaqVersion) == len(faq)
    texts = " ".join(e.question_ja + e.answer_ja for e in faq)
    assert "児童手当" in texts and "ごみ" in texts and "ゴミ" in texts
    assert db.session.scalar(select(SynonymGroup.terms)) == "子ども手当\n児童手当"
    assert all(e.services for e in faq)
    assert seen["posts"] == count(Post) and seen["faq"] == len(faq)
    # counts kept the way the lists read them
    answered = next(q for q in questions if q.submission_key == "demo-q0")
    assert answered.answer_count == 2 and answered.first_official_answer_at is not None
    assert "<p>" in answered.body_html
