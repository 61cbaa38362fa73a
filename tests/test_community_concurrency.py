"""A concurrent double submit of the ask form stores one question.

Two requests carrying the same form (the same one-time ``submission_key``) arrive at
once from a new member: both pass the "already stored?" check before either has
written, so the database decides — the unique (author, submission key) constraint
lets one insert through, and the other request returns the stored question instead
of an error. The member's community row, made on first use, is raced the same way.

The threads need committed data and connections of their own, so this runs outside
the suite's per-test transaction (marker ``live``) on a database of its own (SQLite
file, or PostgreSQL beside the suite's), dropped afterwards.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from portal.extensions import db

pytestmark = pytest.mark.live

THREADS = 4


@pytest.fixture
def own_app(tmp_path):
    from tests.test_concurrency import own_live_app

    yield from own_live_app(tmp_path, COMMUNITY_FIRST_POST_REVIEW=False)


def test_the_same_submission_at_once_stores_one_question(own_app):
    from portal.auth.models import Role, User
    from portal.community import posting
    from portal.community.models import Member, Post, QuestionService
    from portal.services.catalogue import load_catalogue
    from portal.services.models import Service

    with own_app.app_context():
        load_catalogue()
        user = User(email="asker@example.org", display_name="Asker", role=Role.RESIDENT,
                    password_hash="x")
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    barrier = threading.Barrier(THREADS)
    stored, errors = [], []

    def submit() -> None:
        with own_app.test_request_context("/community/ask", method="POST"):
            try:
                author = db.session.get(User, user_id)
                service = db.session.scalar(select(Service).where(Service.slug == "library-loans"))
                db.session.commit()  # every thread has read; the race starts here
                barrier.wait(timeout=10)
                post, created = posting.ask(author, title="転入届の書き方", body="どの窓口ですか？",
                                            lang="ja", services=[service],
                                            submission_key="same-form-twice")
                db.session.commit()
                stored.append((post.id, created))
            except Exception as error:  # noqa: BLE001 — reported below
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len({post_id for post_id, _ in stored}) == 1
    assert sorted(created for _, created in stored) == [False] * (THREADS - 1) + [True]
    with own_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 1
        assert db.session.scalar(select(func.count()).select_from(QuestionService)) == 1
        assert db.session.scalar(select(func.count()).select_from(Member)) == 1
