"""The residents' community pages as a person uses them: lists, the question page,
asking (with similar questions), answering, votes, edits, and the community name."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.community.models import Member, Post, PostStatus, Revision
from portal.extensions import db
from tests.community_factories import answer, faq_entry, question, topic
from tests.conftest import sign_in


def trusted(make_user):
    person = make_user("resident")
    db.session.add(Member(user_id=person.id, trusted=True))
    db.session.commit()
    return person


def client_for(app, user):
    return sign_in(app.test_client(), user)


def test_list_shows_counts_tags_and_neutral_names(app, client, catalogue, make_user):
    asker = make_user("resident")
    item = question(asker, title="図書館の返却ポストはどこ？", services=("library-loans",))
    item.score, item.view_count = 3, 17
    db.session.commit()
    page = client.get("/community/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "図書館の返却ポストはどこ？" in page
    assert f"住民{asker.id}" in page and asker.display_name not in page
    assert 'href="/community/?service=library-loans"' in page
    assert '<dd class="number">17</dd>' in page


def test_list_query_count_is_flat(app, client, catalogue, make_user, count_queries):
    moving = topic()
    from portal.community.models import QuestionTopic

    def add(n):
        for i in range(n):
            post = question(make_user("resident"), title=f"質問その{i}です")
            db.session.add(QuestionTopic(question_id=post.id, topic_id=moving.id))
        db.session.commit()

    add(2)
    with count_queries() as few:
        assert client.get("/community/").status_code == 200
    add(15)
    with count_queries() as many:
        assert client.get("/community/").status_code == 200
    assert many.count == few.count


def test_filters_and_unanswered(app, client, catalogue, make_user):
    asker = make_user("resident")
    answered = question(asker, title="答えのある質問です", services=("library-loans",))
    answer(answered, make_user("resident"))
    question(asker, title="健診の質問です", services=("cancer-screening",))
    db.session.commit()
    unanswered = client.get("/community/?sort=unanswered").get_data(as_text=True)
    assert "健診の質問です" in unanswered and "答えのある質問です" not in unanswered
    library = client.get("/community/?service=library-loans").get_data(as_text=True)
    assert "答えのある質問です" in library and "健診の質問です" not in library


def test_question_page_orders_accepted_then_official_then_votes(app, client, catalogue,
                                                                  make_user):
    asker = make_user("resident")
    item = question(asker)
    voted = answer(item, make_user("resident"), body="票の多い答え", score=5)
    official = answer(item, None, body="公式の答え", official_department=catalogue["library"])
    accepted = answer(item, make_user("resident"), body="採用された答え")
    answer(item, make_user("resident"), body="隠された答え", status=PostStatus.HIDDEN)
    item.accepted_answer_id = accepted.id
    db.session.commit()
    page = client.get(f"/community/questions/{item.id}",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert page.index("採用された答え") < page.index("公式の答え") < page.index("票の多い答え")
    assert "隠された答え" not in page
    assert "Official answer — " in page and f'id="post-{official.id}"' in page
    assert f'id="post-{voted.id}"' in page


def test_views_counted_once_per_session_not_for_the_author(app, catalogue, make_user):
    asker = make_user("resident")
    item = question(asker)
    db.session.commit()
    reader = app.test_client()
    reader.get(f"/community/questions/{item.id}")
    reader.get(f"/community/questions/{item.id}")
    client_for(app, asker).get(f"/community/questions/{item.id}")
    db.session.refresh(item)
    assert item.view_count == 1


def test_non_public_question_is_404_but_the_author_sees_it(app, client, catalogue, make_user):
    asker = make_user("resident")
    item = question(asker, status=PostStatus.HIDDEN, moderation_reason="個人情報が含まれています")
    db.session.commit()
    assert client.get(f"/community/questions/{item.id}").status_code == 404
    page = client_for(app, asker).get(f"/community/questions/{item.id}",
                                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "hidden from the public" in page and "個人情報が含まれています" in page


def test_ask_checks_similar_then_posts_once(app, catalogue, make_user):
    question(make_user("resident"), title="How do I renew a library book?",
             body="Online or at the counter?", lang="en")
    db.session.commit()
    asker = trusted(make_user)
    web = client_for(app, asker)
    form = {"title": "renew a library book", "body": "Can I *renew* online?",
            "services": ["library-loans"], "lang": "en", "submission_key": "abc123"}
    shown = web.post("/community/ask", data={**form, "check": "1"},
                     headers={"Accept-Language": "en"})
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "How do I renew a library book?" in text
    assert "Can I *renew* online?" in text  # kept
    early = web.post("/community/ask", data={"title": "renew a library book", "check": "1"},
                     headers={"Accept-Language": "en"})
    assert early.status_code == 200 and "Describe your question" not in \
        early.get_data(as_text=True)  # the check step needs the title only
    first = web.post("/community/ask", data={**form, "submit": "1"})
    second = web.post("/community/ask", data={**form, "submit": "1"})
    assert first.status_code == second.status_code == 302
    assert db.session.scalar(select(func.count(Post.id))
                             .where(Post.author_id == asker.id)) == 1
    post = db.session.scalar(select(Post).where(Post.author_id == asker.id))
    assert post.body_html == "<p>Can I <em>renew</em> online?</p>"


def test_ask_without_a_tag_keeps_the_text(app, catalogue, make_user):
    web = client_for(app, trusted(make_user))
    response = web.post("/community/ask", data={"title": "タグのない質問です",
                                                "body": "本文はこちら", "lang": "ja",
                                                "submit": "1"},
                        headers={"Accept-Language": "en"})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose at least one tag" in text
    assert "本文はこちら" in text and "タグのない質問です" in text


def test_first_post_shows_waiting_for_review(app, catalogue, make_user):
    newcomer = make_user("resident")
    web = client_for(app, newcomer)
    response = web.post("/community/ask", data={
        "title": "はじめての質問です", "body": "よろしくお願いします", "lang": "ja",
        "services": ["library-loans"], "submit": "1"}, follow_redirects=True,
        headers={"Accept-Language": "en"})
    assert "waiting for review" in response.get_data(as_text=True)
    assert db.session.scalar(select(Post.status).where(Post.author_id == newcomer.id)) \
        == PostStatus.PENDING


def test_silenced_resident_is_told_until_when(app, catalogue, make_user):
    from datetime import timedelta

    from portal.timeutil import utcnow

    person = make_user("resident")
    db.session.add(Member(user_id=person.id, trusted=True, silence_reason="宣伝の繰り返し",
                          silenced_until=utcnow() + timedelta(days=2)))
    db.session.commit()
    response = client_for(app, person).post("/community/ask", data={
        "title": "質問させてください", "body": "本文", "lang": "ja",
        "services": ["library-loans"], "submit": "1"}, headers={"Accept-Language": "en"})
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "until" in text and "宣伝の繰り返し" in text
    assert "質問させてください" in text


def test_answer_vote_accept_flow(app, catalogue, make_user):
    asker, helper = trusted(make_user), trusted(make_user)
    item = question(asker)
    db.session.commit()
    reply = client_for(app, helper).post(f"/community/questions/{item.id}/answer",
                                         data={"body": "市民課の**窓口**です。"})
    assert reply.status_code == 302
    answer_post = db.session.scalar(select(Post).where(Post.question_id == item.id))
    own = client_for(app, helper).post(f"/community/posts/{answer_post.id}/vote/up",
                                       follow_redirects=True,
                                       headers={"Accept-Language": "en"})
    assert "You cannot vote on your own post." in own.get_data(as_text=True)
    asker_web = client_for(app, asker)
    asker_web.post(f"/community/posts/{answer_post.id}/vote/up")
    again = asker_web.post(f"/community/posts/{answer_post.id}/vote/up", follow_redirects=True,
                           headers={"Accept-Language": "en"})
    assert "already voted this post up" in again.get_data(as_text=True)
    accepted = asker_web.post(f"/community/posts/{answer_post.id}/accept", follow_redirects=True,
                              headers={"Accept-Language": "en"})
    text = accepted.get_data(as_text=True)
    assert "Accepted answer" in text and "<strong>窓口</strong>" in text
    refused = client_for(app, helper).post(f"/community/posts/{answer_post.id}/accept",
                                           follow_redirects=True,
                                           headers={"Accept-Language": "en"})
    assert "Only the person who asked" in refused.get_data(as_text=True)


def test_empty_answer_keeps_the_page(app, catalogue, make_user):
    item = question(make_user("resident"))
    db.session.commit()
    response = client_for(app, trusted(make_user)).post(
        f"/community/questions/{item.id}/answer", data={"body": " "})
    assert response.status_code == 400 and item.title in response.get_data(as_text=True)


def test_edit_writes_a_revision_and_history_is_public(app, client, catalogue, make_user):
    asker = trusted(make_user)
    item = question(asker, title="元のタイトルです", body="元の本文")
    db.session.commit()
    web = client_for(app, asker)
    saved = web.post(f"/community/posts/{item.id}/edit",
                     data={"title": "新しいタイトルです", "body": "新しい本文"})
    assert saved.status_code == 302
    assert db.session.scalar(select(func.count(Revision.id))
                             .where(Revision.post_id == item.id)) == 1
    history = client.get(f"/community/posts/{item.id}/revisions").get_data(as_text=True)
    assert "元の本文" in history and "新しい本文" in history
    other = client_for(app, trusted(make_user)).get(f"/community/posts/{item.id}/edit",
                                                    follow_redirects=True,
                                                    headers={"Accept-Language": "en"})
    assert "You can only change your own posts." in other.get_data(as_text=True)


def test_delete_own_post(app, client, catalogue, make_user):
    asker = trusted(make_user)
    item = question(asker)
    db.session.commit()
    assert client_for(app, asker).post(f"/community/posts/{item.id}/delete").status_code == 302
    db.session.refresh(item)
    assert item.status == PostStatus.DELETED
    assert client.get(f"/community/questions/{item.id}").status_code == 404


def test_community_name_page(app, catalogue, make_user):
    first, second = make_user("resident"), make_user("resident")
    assert client_for(app, first).post("/community/name",
                                       data={"public_name": "さくら"}).status_code == 302
    taken = client_for(app, second).post("/community/name", data={"public_name": "さくら"},
                                         headers={"Accept-Language": "en"})
    assert taken.status_code == 400 and "already taken" in taken.get_data(as_text=True)
    assert db.session.get(Member, first.id).public_name == "さくら"


def test_similar_fragment(app, client, catalogue, make_user):
    question(make_user("resident"), title="ごみの分別がわかりません", body="ごみの日は？")
    db.session.commit()
    text = client.get("/community/similar?q=ごみ", headers={"Accept-Language": "ja"}) \
        .get_data(as_text=True)
    assert "ごみの分別がわかりません" in text and "<mark>" in text
    assert client.get("/community/similar?q=").get_data(as_text=True).strip() == ""


def test_similar_finds_faq_entries(app, client, catalogue):
    faq_entry(catalogue["library"])
    db.session.commit()
    text = client.get("/community/similar?q=ごみ", headers={"Accept-Language": "ja"}) \
        .get_data(as_text=True)
    assert "ごみの出し方は？" in text and "/faq/" in text


def test_forms_need_csrf(app, catalogue, make_user, csrf_on):
    item = question(make_user("resident"))
    db.session.commit()
    web = client_for(app, trusted(make_user))
    assert web.post(f"/community/questions/{item.id}/answer",
                    data={"body": "答え"}).status_code == 400
    assert web.post(f"/community/posts/{item.id}/vote/up").status_code == 400


def test_the_service_page_shows_residents_questions_and_asks_with_the_service(
        app, client, resident_client, catalogue, make_user):
    page = client.get("/services/library-loans", headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert "No resident has asked about this service in the community yet." in text
    question(make_user("resident"), title="Can I renew a loan twice?", lang="en")
    question(make_user("resident"), title="Hidden one", status=PostStatus.HIDDEN)
    question(make_user("resident"), title="Another service's", services=("cancer-screening",))
    db.session.commit()
    text = client.get("/services/library-loans", headers={"Accept-Language": "en"}) \
        .get_data(as_text=True)
    assert "Can I renew a loan twice?" in text
    assert "Hidden one" not in text and "Another service&#39;s" not in text
    assert "All residents' questions about this service (1)" in text
    assert "/community/?service=library-loans" in text
    form = resident_client.get("/community/ask?service=library-loans").get_data(as_text=True)
    ticked = re.findall(r'<input checked[^>]*name="services"[^>]*value="([^"]+)"', form)
    assert ticked == ["library-loans"]


def test_the_list_offers_search_and_asks_visitors_to_sign_in(app, client, resident_client,
                                                             catalogue):
    text = client.get("/community/?service=library-loans",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'action="/community/search"' in text
    assert '<input type="hidden" name="service" value="library-loans">' in text
    assert "Sign in to ask a question" in text and "/account/login?next=/community/ask" in text
    own = resident_client.get("/community/", headers={"Accept-Language": "en"}) \
        .get_data(as_text=True)
    assert "Sign in to ask a question" not in own and 'href="/community/ask"' in own
