"""Builders for community posts, topics and FAQ entries (rows written directly, the
way the operations leave them — the search index included; the operations are tested
in their own modules)."""

from __future__ import annotations

from datetime import date, timedelta

from portal.community import events
from portal.community.models import Post, PostKind, PostStatus, QuestionService, Topic
from portal.extensions import db
from portal.faq.models import FaqEntry, FaqEntryService
from portal.timeutil import utcnow
from tests import factories


def question(author, title: str = "転入届の書き方を教えてください", body: str = "どの窓口ですか？",
             *, services=("library-loans",), lang: str = "ja",
             status: str = PostStatus.PUBLISHED, **values) -> Post:
    post = Post(kind=PostKind.QUESTION, author_id=author.id if author else None, title=title,
                body=body, body_html=f"<p>{body}</p>", lang=lang, status=status, **values)
    db.session.add(post)
    db.session.flush()
    for slug in services:
        db.session.add(QuestionService(question_id=post.id,
                                       service_id=factories.service(slug).id))
    db.session.flush()
    db.session.refresh(post)
    events.post_changed(post)
    return post


def answer(question_post: Post, author, body: str = "市民課の窓口です。", *,
           official_department=None, status: str = PostStatus.PUBLISHED, **values) -> Post:
    post = Post(kind=PostKind.ANSWER, question_id=question_post.id,
                author_id=author.id if author else None, body=body, body_html=f"<p>{body}</p>",
                lang=values.pop("lang", question_post.lang), status=status,
                official=official_department is not None,
                official_department_id=official_department.id if official_department else None,
                **values)
    db.session.add(post)
    if status == PostStatus.PUBLISHED:
        question_post.answer_count += 1
        question_post.first_answer_at = question_post.first_answer_at or utcnow()
    db.session.flush()
    events.post_changed(post)
    return post


def topic(slug: str = "moving", name_ja: str = "引っ越し", name_en: str = "Moving house") -> Topic:
    item = Topic(slug=slug, name_ja=name_ja, name_en=name_en)
    db.session.add(item)
    db.session.flush()
    return item


def faq_entry(department, question_ja: str = "ごみの出し方は？",
              answer_ja: str = "収集日の朝に出してください。",
              question_en: str = "How do I put out rubbish?",
              answer_en: str = "Put it out on the morning of collection day.", *,
              services=(), review_on: date | None = None, **values) -> FaqEntry:
    entry = FaqEntry(question_ja=question_ja, answer_ja=answer_ja, question_en=question_en,
                     answer_en=answer_en, department_id=department.id,
                     review_on=review_on or date.today() + timedelta(days=365), **values)
    db.session.add(entry)
    db.session.flush()
    for slug in services:
        db.session.add(FaqEntryService(entry_id=entry.id, service_id=factories.service(slug).id))
    db.session.flush()
    db.session.refresh(entry)
    events.faq_changed(entry)
    return entry
