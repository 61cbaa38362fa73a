"""Search: the tokenizer, the index kept current through the hooks, the query's
behaviour (kinds, services, pages, snippets, ranking) and the search page."""

from __future__ import annotations

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.community import events
from portal.community.models import PostStatus
from portal.extensions import db
from portal.faq.models import EntryStatus, SynonymGroup
from portal.search import indexing, search, similar
from portal.search.models import SearchDocument
from portal.search.query import highlight, parse
from portal.search.tokenize import chunk_phrase, document_tokens, normalize, query_chunks
from tests.community_factories import answer, faq_entry, question

EVERYTHING = ("question", "answer", "faq")


# --- the tokenizer --------------------------------------------------------------------

def test_normalize_folds_width_case_and_katakana():
    assert normalize("ゴミ") == normalize("ごみ") == normalize("ｺﾞﾐ") == "ごみ"
    assert normalize("ＬＩＢＲＡＲＹ Card") == "library card"


def test_japanese_runs_become_bigrams_with_the_last_character():
    assert document_tokens("転入届") == ["転入", "入届", "届"]
    assert document_tokens("税") == ["税"]
    assert document_tokens("A4用紙, 2枚") == ["a4", "用紙", "紙", "2", "枚"]
    assert document_tokens("Library card!") == ["library", "card"]


def test_query_chunks_are_phrases():
    assert chunk_phrase("転入届").tokens == ("転入", "入届")  # the document may go on
    assert chunk_phrase("税") == chunk_phrase("税").__class__(("税",), True)
    assert chunk_phrase("regist").prefix and not chunk_phrase("id").prefix
    assert query_chunks("How do I renew books?") == ["renew", "books"]
    assert query_chunks("how") == ["how"]  # only stop words: keep them


JAPANESE = st.text(alphabet=st.sampled_from(
    list("あいうえおかがきごみアイウゴミｺﾞﾐ漢字転入届税々ー") + list(" 、。!")),
    min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(JAPANESE, JAPANESE, JAPANESE)
def test_every_substring_chunk_matches_its_document(before, middle, after):
    """Any piece of Japanese text, as a query, matches the text: its phrase's tokens
    appear in the document's tokens, adjacent and in order (the last one as a
    prefix). (Latin and digits match as whole words or word prefixes only.)"""
    text = before + middle + after
    tokens = document_tokens(text)
    for chunk in query_chunks(middle):
        if chunk not in normalize(text):
            continue
        phrase = chunk_phrase(chunk)
        n = len(phrase.tokens)
        assert any(
            list(phrase.tokens[:-1]) == tokens[i:i + n - 1]
            and (tokens[i + n - 1].startswith(phrase.tokens[-1]) if phrase.prefix
                 else tokens[i + n - 1] == phrase.tokens[-1])
            for i in range(len(tokens) - n + 1)), (text, chunk, phrase, tokens)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_tokens_are_safe_for_both_index_syntaxes(value):
    for token in document_tokens(value):
        assert token and " " not in token and "'" not in token and '"' not in token
        assert token == normalize(token)


# --- the index follows the posts ------------------------------------------------------

@pytest.fixture
def asker(make_user, catalogue):
    return make_user("resident")


def found(query, locale="ja", kinds=EVERYTHING, **kwargs):
    return [(hit.kind, hit.id) for hit in search(query, locale, kinds=kinds, **kwargs).hits]


def test_a_post_is_found_after_create_and_follows_edit_hide_and_delete(asker):
    post = question(asker, title="転入届の書き方", body="どこで書けますか")
    events.post_changed(post)
    assert found("転入届") == [("question", post.id)]

    post.title = "転出届の書き方"
    events.post_changed(post)
    assert found("転入届") == []
    assert found("転出届") == [("question", post.id)]

    post.status = PostStatus.HIDDEN
    events.post_changed(post)
    assert found("転出届") == []
    assert db.session.scalar(select(func.count()).select_from(SearchDocument)) == 0

    post.status = PostStatus.PUBLISHED
    events.post_changed(post)
    assert found("転出届") == [("question", post.id)]

    post.status = PostStatus.DELETED
    events.post_changed(post)
    assert found("転出届") == []


def test_pending_posts_are_not_indexed_and_answers_lead_to_their_question(asker):
    post = question(asker, title="犬の登録", body="どこで？")
    events.post_changed(post)
    reply = answer(post, asker, body="保健所で狂犬病の注射と一緒にできます。")
    events.post_changed(reply)
    waiting = answer(post, asker, body="狂犬病のことは知りません", status=PostStatus.PENDING)
    events.post_changed(waiting)
    hits = search("狂犬病", "ja", kinds=EVERYTHING).hits
    assert [(h.kind, h.id, h.question_id, h.title) for h in hits] == [
        ("answer", reply.id, post.id, "犬の登録")]
    # one result per question: the question's document and its answer's are one
    assert search("犬", "ja", kinds=EVERYTHING).total == 1
    # a hidden question takes its answers out of the results
    post.status = PostStatus.HIDDEN
    events.post_changed(post)
    assert found("狂犬病") == []


def test_faq_entries_are_found_per_language_until_archived(catalogue):
    entry = faq_entry(catalogue["environment"], question_ja="ごみの出し方",
                      answer_ja="朝8時までに", question_en="", answer_en="")
    events.faq_changed(entry)
    assert found("ごみ") == [("faq", entry.id)]
    assert found("rubbish", "en") == []  # no English text
    entry.question_en, entry.answer_en = "Putting out rubbish", "By 8 a.m."
    events.faq_changed(entry)
    hit = search("rubbish", "en", kinds=EVERYTHING).hits[0]
    assert (hit.kind, hit.lang, hit.title, hit.official) == ("faq", "en", "Putting out rubbish",
                                                             True)
    entry.status = EntryStatus.ARCHIVED
    events.faq_changed(entry)
    assert found("ごみ") == []


def test_votes_and_accepted_answers_rank_without_a_reindex(asker):
    low = question(asker, title="図書館の予約", body="")
    high = question(asker, title="図書館の予約方法", body="")
    for post in (low, high):
        events.post_changed(post)
    low.score = 0
    high.score = 8
    db.session.flush()
    assert found("図書館", kinds=("question",)) == [("question", high.id), ("question", low.id)]
    low.score = 20
    reply = answer(low, asker, body="ウェブで")
    low.accepted_answer_id = reply.id
    db.session.flush()  # no hook called: votes and acceptance are read at query time
    hits = search("図書館", "ja", kinds=("question",)).hits
    assert [h.id for h in hits] == [low.id, high.id]
    assert hits[0].accepted and hits[0].votes == 20


def test_title_matches_rank_above_body_matches(asker):
    in_body = question(asker, title="手続きについて", body="住民票はどこで取れますか")
    in_title = question(asker, title="住民票の取り方", body="教えてください")
    for post in (in_body, in_title):
        events.post_changed(post)
    assert found("住民票") == [("question", in_title.id), ("question", in_body.id)]


def test_kinds_services_and_pages(asker, catalogue):
    library = question(asker, title="本の予約 1", services=("library-loans",))
    others = [question(asker, title=f"本の予約 {n}", services=()) for n in range(2, 6)]
    entry = faq_entry(catalogue["library"], question_ja="本の予約の期限", services=())
    for post in (library, *others):
        events.post_changed(post)
    events.faq_changed(entry)
    assert search("予約", "ja", kinds=EVERYTHING).total == 6
    assert found("予約", kinds=("faq",)) == [("faq", entry.id)]
    from tests import factories

    service_id = factories.service("library-loans").id
    assert found("予約", service_id=service_id) == [("question", library.id)]
    first = found("予約", limit=4)
    second = search("予約", "ja", kinds=EVERYTHING, limit=4, offset=4)
    assert len(first) == 4 and len(second.hits) == 2 and second.total == 6
    assert not set(first) & {(h.kind, h.id) for h in second.hits}


def test_a_one_character_query_finds_the_character_anywhere(asker):
    post = question(asker, title="子犬を飼い始めました", body="")
    events.post_changed(post)
    assert found("犬") == [("question", post.id)]


def test_snippets_mark_the_match_and_escape_everything_else(asker):
    post = question(asker, title="危険なテスト",
                    body="<script>alert('x')</script> と書かれた **ゴミ** の話 <b onload=x>")
    events.post_changed(post)
    snippet = search("ごみ", "ja", kinds=EVERYTHING).hits[0].snippet
    assert "<mark>ゴミ</mark>" in snippet
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet
    assert "<b " not in snippet and "**" not in snippet


def test_highlight_is_around_the_first_match():
    text = "前置き。" * 60 + "ここに転入届の話があります。" + "後書き。" * 60
    snippet = highlight(text, parse("転入届").marks)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>転入届</mark>" in snippet
    assert str(highlight("Registration opens", parse("regist").marks)) == \
        "<mark>Registration</mark> opens"


def test_bad_queries_find_nothing_quietly(asker):
    post = question(asker, title="転入届", body="")
    events.post_changed(post)
    for query in ("", "   ", "!!!", "\"'*()", "NEAR AND OR", "'; DROP TABLE x; --", "ー"):
        search(query, "ja", kinds=EVERYTHING)  # no error
    assert found("転入届" * 100) == []  # cut at 200 characters: still a phrase


def test_similar_finds_questions_and_faq_from_a_typed_title(asker, catalogue):
    post = question(asker, title="転入届の書き方を教えてください", body="")
    entry = faq_entry(catalogue["citizens"], question_ja="転入届に必要なもの", answer_ja="")
    other = question(asker, title="ごみの出し方", body="")
    for item in (post, other):
        events.post_changed(item)
    events.faq_changed(entry)
    hits = similar("引っ越したので転入届を出したいです", "ja")
    # any shared token finds (出し: ごみの出し方), the most shared come first
    assert {(h.kind, h.id) for h in hits[:2]} == {("question", post.id), ("faq", entry.id)}
    assert similar("ごみ", "ja", kinds=("question",), limit=1)[0].id == other.id


def test_reindex_builds_the_same_index_from_scratch(asker, runner, catalogue):
    post = question(asker, title="児童手当の申請", body="")
    hidden = question(asker, title="児童手当の質問", body="", status=PostStatus.HIDDEN)
    entry = faq_entry(catalogue["childcare"], question_ja="児童手当はいつ", answer_ja="")
    db.session.add(SynonymGroup(terms="子ども手当\n児童手当"))
    db.session.flush()
    before = set(found("子ども手当"))
    assert indexing.reindex() == 3  # the question and the entry's two languages
    assert set(found("子ども手当")) == before == {("question", post.id), ("faq", entry.id)}
    assert ("question", hidden.id) not in found("児童手当")


def test_reindex_command_prints_rows_per_second(runner, asker):
    events.post_changed(question(asker, title="公民館", body=""))
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 1 documents" in result.output and "rows/s" in result.output


# --- the page -------------------------------------------------------------------------

@pytest.fixture
def page_app(app) -> Flask:
    return app


def test_the_page_lists_results_with_kinds_badges_snippets_and_counts(page_app, asker,
                                                                      catalogue):
    post = question(asker, title="ゴミの分別", body="燃える<ゴミ>の日", score=3)
    reply = answer(post, asker, body="ごみ分別アプリがあります", official_department=catalogue[
        "environment"])
    entry = faq_entry(catalogue["environment"], question_ja="ごみの出し方",
                      answer_ja="朝8時までに出してください。")
    for item in (post, reply):
        events.post_changed(item)
    events.faq_changed(entry)
    client = page_app.test_client()
    page = client.get("/community/search?q=ごみ", headers={"Accept-Language": "ja"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "「ごみ」の検索結果 2件" in html
    assert f'href="/community/questions/{post.id}"' in html or \
        f'href="/community/questions/{post.id}#post-{reply.id}"' in html
    assert f'href="/faq/{entry.id}"' in html
    assert "<mark>ゴミ</mark>" in html and "&lt;<mark>ゴミ</mark>&gt;" in html
    assert "公式" in html and "よくある質問" in html

    only_faq = client.get("/community/search?q=ごみ&kind=faq").get_data(as_text=True)
    assert f'href="/faq/{entry.id}"' in only_faq and "/community/questions/" not in only_faq


def test_the_page_explains_empty_long_and_fruitless_queries(page_app, asker):
    client = page_app.test_client()
    english = {"Accept-Language": "en"}
    empty = client.get("/community/search", headers=english).get_data(as_text=True)
    assert "Type a word" in empty
    long = client.get("/community/search?q=" + "あ" * 201, headers=english)
    assert long.status_code == 200 and "too long" in long.get_data(as_text=True)
    none = client.get("/community/search?q=zzqq", headers=english).get_data(as_text=True)
    assert "Nothing matches" in none and 'href="/community/ask"' in none


def test_many_matches_rank_the_newest_candidates(asker, monkeypatch):
    """Past ``ranking.CANDIDATES`` matching documents only the newest matches and the
    newest title matches are ranked, and the total says "at least"."""
    from portal.search import ranking

    posts = [question(asker, title=f"ごみの日 {n}", body="") for n in range(4)]
    near_miss = question(asker, title="ごはん", body="みそ汁")  # ご and み, not ごみ
    for post in (*posts, near_miss):
        events.post_changed(post)
    monkeypatch.setattr(ranking, "CANDIDATES", 2)
    results = search("ごみの日", "ja", kinds=EVERYTHING)
    assert results.estimated
    assert {h.id for h in results.hits} <= {p.id for p in posts}
    assert posts[-1].id in {h.id for h in results.hits}
    assert results.total == len(results.hits) >= 2
    monkeypatch.setattr(ranking, "CANDIDATES", 500)
    assert not search("ごみの日", "ja", kinds=EVERYTHING).estimated


def test_an_entry_in_two_languages_reindexed_leaves_no_stale_tokens(catalogue, asker):
    """Each save rewrites both of an entry's documents; the token rows of both go too
    (SQLite reuses the freed rowids, so a stale row would match under another
    document's id)."""
    entry = faq_entry(catalogue["environment"], question_ja="ごみの出し方",
                      answer_ja="朝8時までに", question_en="Putting out rubbish",
                      answer_en="By 8 a.m.")
    for _ in range(3):
        events.faq_changed(entry)
    entry.question_ja, entry.question_en = "粗大ゴミの申し込み", "Bulky waste"
    events.faq_changed(entry)
    post = question(asker, title="図書館の本の延長", body="延長できますか")
    events.post_changed(post)
    assert found("出し方") == [] and found("rubbish", "en") == []
    assert found("粗大") == [("faq", entry.id)]
    assert found("延長") == [("question", post.id)]


def test_the_page_pages_through_results(page_app, asker, monkeypatch):
    from portal.community import search_views

    monkeypatch.setattr(search_views, "PER_PAGE", 2)
    for n in range(5):
        question(asker, title=f"図書館の本の延長 {n}", body="")
    client = page_app.test_client()
    english = {"Accept-Language": "en"}
    first = client.get("/community/search?q=延長", headers=english).get_data(as_text=True)
    assert "5 results for “延長”" in first and "showing 1–2" in first
    assert "page=2" in first
    last = client.get("/community/search?q=延長&page=3", headers=english).get_data(as_text=True)
    assert "showing 5–5" in last and 'class="search-result"' in last
    assert last.count('class="search-result"') == 1
