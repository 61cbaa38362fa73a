"""The relevance set: a small corpus and the queries whose best results are known
(``tests/data/search_corpus.json``, ``tests/data/search_relevance.json``), loaded
through the real index. Used by ``tests/test_search_relevance.py`` and
``bench/community_bench.py`` (precision at 3)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from portal.community import events
from portal.community.models import Post, PostKind, PostStatus, QuestionService
from portal.extensions import db
from portal.faq.models import FaqEntry, FaqEntryService, SynonymGroup
from portal.services.models import Department, Service

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"


def corpus() -> dict:
    return json.loads((DATA / "search_corpus.json").read_text(encoding="utf-8"))


def cases() -> list[dict]:
    return json.loads((DATA / "search_relevance.json").read_text(encoding="utf-8"))["cases"]


def load(author_id: int | None, *, synonyms: bool = True) -> dict[tuple[str, int], str]:
    """Write the corpus (posts, FAQ entries, synonym groups) and index it through the
    hooks; returns {(result kind, id): key} with an answer under its question."""
    data = corpus()
    services = {s.slug: s.id for s in db.session.scalars(select(Service))}
    departments = {d.code: d.id for d in db.session.scalars(select(Department))}
    keys: dict[tuple[str, int], str] = {}
    for item in data["questions"]:
        question = Post(kind=PostKind.QUESTION, author_id=author_id, title=item["title"],
                        body=item["body"], body_html="", lang=item["lang"],
                        status=PostStatus.PUBLISHED, score=item.get("score", 0))
        db.session.add(question)
        db.session.flush()
        for slug in item.get("services", []):
            db.session.add(QuestionService(question_id=question.id, service_id=services[slug]))
        keys[("question", question.id)] = item["key"]
        for given in item["answers"]:
            answer = Post(kind=PostKind.ANSWER, question_id=question.id, author_id=author_id,
                          body=given["body"], body_html="", lang=item["lang"],
                          status=PostStatus.PUBLISHED, score=given.get("score", 0),
                          official=given.get("official", False))
            db.session.add(answer)
            db.session.flush()
            question.answer_count += 1
            if given.get("accepted"):
                question.accepted_answer_id = answer.id
            events.post_changed(answer)
        db.session.flush()
        events.post_changed(question)
    for item in data["faq"]:
        entry = FaqEntry(department_id=departments[item["department"]],
                         review_on=date.today() + timedelta(days=365),
                         **{f: item[f] for f in ("question_ja", "answer_ja", "question_en",
                                                 "answer_en")})
        db.session.add(entry)
        db.session.flush()
        for slug in item.get("services", []):
            db.session.add(FaqEntryService(entry_id=entry.id, service_id=services[slug]))
        keys[("faq", entry.id)] = item["key"]
        events.faq_changed(entry)
    if synonyms:
        for terms in data["synonyms"]:
            db.session.add(SynonymGroup(terms="\n".join(terms)))
    db.session.flush()
    return keys


@dataclass(frozen=True)
class Outcome:
    query: str
    relevant: tuple[str, ...]
    found: tuple[str, ...]  # the first three results' keys

    @property
    def precision(self) -> float:
        hits = sum(1 for key in self.found if key in self.relevant)
        return hits / min(3, len(self.relevant))


def result_key(hit, keys: dict[tuple[str, int], str]) -> str:
    if hit.kind == "faq":
        return keys.get(("faq", hit.id), "?")
    return keys.get(("question", hit.question_id or hit.id), "?")


def evaluate(keys: dict[tuple[str, int], str]) -> list[Outcome]:
    from portal.search.query import search

    outcomes = []
    for case in cases():
        results = search(case["query"], case["locale"], kinds=("question", "answer", "faq"),
                          limit=3)
        outcomes.append(Outcome(case["query"], tuple(case["relevant"]),
                                tuple(result_key(hit, keys) for hit in results.hits)))
    return outcomes


def precision_at_3(outcomes: list[Outcome]) -> float:
    return sum(o.precision for o in outcomes) / len(outcomes)
