"""FAQ entries: writing, promoting (accepted or official answers only), changing,
reviewing, archiving — each save a version with the whole entry and an audit entry;
and the synonym list's rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.community import events
from portal.community.models import PostStatus
from portal.extensions import db
from portal.faq import operations, synonyms
from portal.faq.models import FaqVersion, SynonymGroup
from portal.faq.operations import EntryValues, FaqError
from portal.timeutil import local_today
from tests import factories
from tests.community_factories import answer, question

EN = {"Accept-Language": "en"}


def post_context(app):
    """A request that may write (a form's POST), in English."""
    return app.test_request_context("/", method="POST", headers=EN)


def values(department, **overrides) -> EntryValues:
    data = {"question_ja": "図書館の本は何冊借りられますか？", "answer_ja": "1人10冊までです。",
            "question_en": "How many books can I borrow?", "answer_en": "Up to ten.",
            "department_id": department.id,
            "service_ids": [factories.service("library-loans").id]}
    data.update(overrides)
    return EntryValues(**data)


def audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_every_save_is_a_version_with_the_whole_entry_and_an_audit_entry(
        app, catalogue, users):
    changed = []
    events.FAQ_CHANGED.append(changed.append)
    try:
        staff = users["staff"]
        with post_context(app):
            entry = operations.create_entry(values(catalogue["library"]), actor=staff,
                                            note="first")
            operations.update_entry(entry, values(catalogue["library"], answer_en="Ten."),
                                    actor=staff, note="shorter")
            operations.archive_entry(entry, actor=staff)
            operations.restore_entry(entry, actor=staff)
            operations.mark_reviewed(entry, actor=staff)
    finally:
        events.FAQ_CHANGED.remove(changed.append)
    rows = db.session.scalars(select(FaqVersion).where(FaqVersion.entry_id == entry.id)
                              .order_by(FaqVersion.version)).all()
    assert [r.version for r in rows] == [1, 2, 3, 4, 5] and entry.version == 5
    assert [r.snapshot["action"] for r in rows] == [
        "faq.create", "faq.update", "faq.archive", "faq.restore", "faq.review"]
    first, second = rows[0].snapshot, rows[1].snapshot
    assert first["answer_en"] == "Up to ten." and second["answer_en"] == "Ten."
    assert first["service_ids"] == [factories.service("library-loans").id]
    assert first["status"] == "published" and rows[2].snapshot["status"] == "archived"
    assert first["department_id"] == catalogue["library"].id
    assert first["review_on"] == operations.add_months(local_today(), 12).isoformat()
    assert rows[0].note == "first" and rows[1].note == "shorter"
    assert all(r.changed_by_id == staff.id for r in rows)
    for action in ("faq.create", "faq.update", "faq.archive", "faq.restore", "faq.review"):
        [entry_row] = audit(action)
        assert entry_row.target_type == "faq_entries" and entry_row.target_id == str(entry.id)
    assert audit("faq.update")[0].data["fields"] == ["answer_en"]
    assert len(changed) == 5 and changed[0] is entry


def test_a_save_that_changes_nothing_is_refused_and_makes_no_version(app, catalogue, users):
    with post_context(app):
        entry = operations.create_entry(values(catalogue["library"]), actor=users["staff"])
        with pytest.raises(FaqError, match="Nothing changed"):
            operations.update_entry(entry, values(catalogue["library"]), actor=users["staff"])
    assert db.session.scalar(select(func.count()).select_from(FaqVersion)) == 1


@pytest.mark.parametrize("overrides, message", [
    ({"question_ja": "", "answer_ja": "", "question_en": "", "answer_en": ""},
     "at least one language"),
    ({"answer_ja": ""}, "Write both the question and the answer in Japanese"),
    ({"question_en": "", "answer_en": "", "draft_ja": True}, "at least one language"),
    ({"department_id": None}, "Choose the department"),
    ({"service_ids": [999999]}, "Choose services from the list"),
    ({"review_on": "today"}, "review date after today"),
    ({"question_ja": "あ" * 301}, "at most 300 characters"),
])
def test_bad_values_are_refused_with_a_clear_message(app, catalogue, users, overrides,
                                                     message):
    if overrides.get("review_on") == "today":
        overrides = {"review_on": local_today()}
    with post_context(app), pytest.raises(FaqError, match=message):
        operations.create_entry(values(catalogue["library"], **overrides),
                                actor=users["staff"])
    assert db.session.scalar(select(func.count()).select_from(FaqVersion)) == 0


def test_a_language_may_be_drafted_if_the_other_is_complete(app, catalogue, users):
    with post_context(app):
        entry = operations.create_entry(values(catalogue["library"], draft_en=True),
                                        actor=users["staff"])
        empty = operations.create_entry(
            values(catalogue["library"], question_en="", answer_en="", draft_en=True),
            actor=users["staff"])
    assert entry.draft_en is True and entry.draft_ja is False
    assert empty.draft_en is False  # nothing written: nothing to review


def test_staff_write_only_for_their_own_department(app, catalogue, users, make_user):
    with post_context(app):
        with pytest.raises(FaqError, match="another department"):
            operations.create_entry(values(catalogue["health"]), actor=users["staff"])
        mine = operations.create_entry(values(catalogue["library"]), actor=users["staff"])
        with pytest.raises(FaqError, match="another department"):  # giving it away
            operations.update_entry(mine, values(catalogue["health"]), actor=users["staff"])
        nurse = make_user(Role.STAFF, department=catalogue["health"])
        with pytest.raises(FaqError, match="another department"):
            operations.mark_reviewed(mine, actor=nurse)
        operations.update_entry(mine, values(catalogue["health"]), actor=users["manager"])
    assert mine.department_id == catalogue["health"].id


# -- promotion --------------------------------------------------------------------------

@pytest.fixture
def thread(make_user, catalogue):
    asker, helper = make_user(Role.RESIDENT), make_user(Role.RESIDENT)
    asked = question(asker, title="図書館の本の延長はできますか", body="オンラインで？")
    plain = answer(asked, helper, body="2回まで延長できます。")
    accepted = answer(asked, make_user(Role.RESIDENT), body="マイページから**延長**できます。")
    asked.accepted_answer_id = accepted.id
    official = answer(asked, None, body="図書館の窓口でも延長できます。",
                      official_department=catalogue["library"])
    db.session.commit()
    return {"question": asked, "plain": plain, "accepted": accepted, "official": official}


def test_only_an_accepted_or_official_public_answer_can_be_promoted(app, thread, users):
    with post_context(app):
        operations.check_promotable(thread["accepted"])
        operations.check_promotable(thread["official"])
        with pytest.raises(FaqError, match="accepted or official"):
            operations.check_promotable(thread["plain"])
        with pytest.raises(FaqError, match="Only an answer"):
            operations.check_promotable(thread["question"])
        thread["official"].status = PostStatus.HIDDEN
        with pytest.raises(FaqError, match="not public"):
            operations.check_promotable(thread["official"])


def test_promotion_is_prefilled_in_the_posts_language_and_remembers_its_source(
        app, thread, users, catalogue):
    with post_context(app):
        prefill = operations.promotion_values(thread["accepted"], users["staff"])
        assert prefill.question_ja.startswith("図書館の本の延長はできますか")
        assert "オンラインで？" in prefill.question_ja  # a short body adds to the title
        assert prefill.answer_ja == "マイページから**延長**できます。"
        assert prefill.question_en == "" and prefill.answer_en == ""
        assert prefill.department_id == catalogue["library"].id
        assert prefill.service_ids == [factories.service("library-loans").id]
        entry = operations.create_entry(prefill, actor=users["staff"],
                                        source_post=thread["accepted"])
    assert entry.source_post_id == thread["accepted"].id
    [row] = audit("faq.promote")
    assert row.data["post"] == thread["accepted"].id
    assert not audit("faq.create")


def test_the_promote_page_refuses_a_plain_answer_with_a_message(staff_client, thread):
    response = staff_client.get(f"/admin/faq/new?from_post={thread['plain'].id}",
                                headers=EN, follow_redirects=True)
    assert "Only an accepted or official answer can be promoted" in response.get_data(
        as_text=True)
    response = staff_client.get(f"/admin/faq/new?from_post={thread['official'].id}",
                                headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "図書館の窓口でも延長できます。" in html
    response = staff_client.post("/admin/faq/new", headers=EN, data={
        "from_post": thread["plain"].id, "question_ja": "質問", "answer_ja": "答え",
        "department_id": thread["official"].official_department_id})
    assert response.status_code == 302 and not audit("faq.promote")


def test_the_promote_button_shows_on_accepted_and_official_answers_only(app, thread, users):
    from flask import render_template
    from flask_login import login_user

    from portal.auth import sessions

    def sign_in(user):
        sessions.start(user, ip="127.0.0.1", user_agent="test")
        login_user(user)

    with post_context(app):
        sign_in(users["staff"])
        shown = {name: "Promote to the FAQ" in render_template(
            "community/_post_tools_faq.html", post=thread[name], question=thread["question"])
            for name in ("plain", "accepted", "official", "question")}
    assert shown == {"plain": False, "accepted": True, "official": True, "question": False}
    with post_context(app):
        sign_in(users["resident"])
        assert "Promote" not in render_template("community/_post_tools_faq.html",
                                                post=thread["accepted"],
                                                question=thread["question"])


# -- synonyms ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("子ども手当", "at least two different terms"),
    ("子ども手当\n子ども手当\n", "at least two different terms"),
    ("ＡＢＣ\nabc", "at least two different terms"),  # full-width folded, case ignored
    ("児童手当\n" + "あ" * 61, "at most 60 characters"),
    ("ごみ\n児童手当", "already in another group"),
])
def test_synonym_groups_are_validated(app, users, text, message):
    db.session.add(SynonymGroup(terms="子ども手当\n児童手当"))
    db.session.flush()
    with post_context(app), pytest.raises(FaqError, match=message):
        synonyms.create_group(text, actor=users["staff"])


def test_synonym_pages_save_edit_and_delete_with_an_audit_entry(staff_client):
    response = staff_client.post("/admin/faq/synonyms/new", headers=EN,
                                 data={"terms": " 子ども手当 \n\n児童手当\n", "note": "手当"})
    assert response.status_code == 302
    group = db.session.scalar(select(SynonymGroup))
    assert group.term_list == ["子ども手当", "児童手当"]
    response = staff_client.post(f"/admin/faq/synonyms/{group.id}", headers=EN,
                                 data={"terms": "ゴミ"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "at least two different terms" in html
    assert 'ゴミ</textarea>' in html  # what was typed is kept
    staff_client.post(f"/admin/faq/synonyms/{group.id}", headers=EN,
                      data={"terms": "ごみ\nゴミ\n塵"})
    db.session.expire_all()
    assert db.session.get(SynonymGroup, group.id).term_list == ["ごみ", "ゴミ", "塵"]
    staff_client.post(f"/admin/faq/synonyms/{group.id}/delete", headers=EN)
    assert db.session.scalar(select(func.count()).select_from(SynonymGroup)) == 0
    assert len(audit("search.synonyms_update")) == 3
