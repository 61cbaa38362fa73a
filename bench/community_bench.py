"""Benchmark: community search at 100 000 questions and 300 000 answers.

Builds a fresh database (SQLite file by default; PostgreSQL with ``--database
postgresql`` or ``both``) with the service catalogue and Q questions with A answers
of realistic Japanese and English text (templates over the municipality's
vocabulary; nine in ten in Japanese), written with bulk inserts (COPY on
PostgreSQL), plus the relevance corpus of ``tests/data/search_corpus.json``. Then,
in the same run:

- **baseline**: a primary-key lookup of a post (``db.session.get``) and ``/healthz``
  through the test client;
- **index build**: ``portal.search.indexing.reindex()`` from scratch, rows/s;
- **search**: ``portal.search.search`` over 50 Japanese and English queries (the
  relevance set's and one more), everything (questions, answers, FAQ), 20 per page,
  each query --repeat times after a warm-up: median and p95 (target p95 ≤ 50 ms);
- **pages**: the question page and the list pages (newest, unanswered, most voted)
  through the test client, median and p95 (target p95 ≤ 100 ms) — when the
  endpoints exist (``community.question``/``community.index``; else "skipped: pages
  not present");
- **precision at 3** of the relevance set, measured first, on the corpus alone
  (the generated posts are about the same topics and are as relevant as the
  corpus's: among them the set's "must come first" lists do not hold).

    python bench/community_bench.py                        # SQLite
    python bench/community_bench.py --database both
    python bench/community_bench.py --questions 10000 --answers 30000   # a quick look

PostgreSQL: PORTAL_BENCH_DATABASE_URL (default the ``portal_bench`` database, created
when missing); its schema is dropped and rebuilt — never point it at a database the
tests are using.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text

from bench.scoring_bench import PG_DEFAULT, ensure_database, reset
from portal.app import create_app
from portal.auth.models import Role, User
from portal.community.models import Post, QuestionService
from portal.extensions import db
from portal.search import relevance, search
from portal.search.indexing import reindex
from portal.services.catalogue import load_catalogue
from portal.services.models import Service

BATCH = 10_000
EVERYTHING = ("question", "answer", "faq")
EXTRA_QUERIES = [("オンライン 手続き", "ja")]

JA_TOPICS = [
    "転入届", "転出届", "住民票", "マイナンバーカード", "印鑑登録", "児童手当", "保育園",
    "学童保育", "予防接種", "がん検診", "特定健診", "国民健康保険", "住民税", "固定資産税",
    "粗大ごみ", "資源ごみ", "ゴミの分別", "燃えるごみ", "図書館の本", "公民館", "体育館",
    "駐輪場", "自転車", "犬の登録", "介護保険", "高齢者バス", "水道料金", "道路の穴", "街灯",
    "公園の遊具", "選挙の投票", "パスポート", "婚姻届", "出生届", "年金", "生活保護",
    "ひとり親の支援", "子育て支援センター", "放課後クラブ", "健康相談", "歯科健診",
    "インフルエンザの予防接種", "プール", "テニスコート", "市民講座", "ボランティア",
    "防災訓練", "避難所", "ハザードマップ", "空き家", "騒音", "カラス", "雪かき",
]
JA_TITLES = [
    "{t}の申し込み方法を教えてください", "{t}について質問です", "{t}はどこでできますか",
    "{t}の期限はいつまでですか", "{t}に必要な書類", "{t}をオンラインで手続きしたい",
    "{t}のことで困っています", "{t}と{u}を一緒に手続きできますか", "{t}の料金はいくらですか",
    "引っ越し後の{t}について",
]
JA_SENTENCES = [
    "{d}に住んでいます。", "{t}のことで困っています。", "平日は仕事で市役所に行けません。",
    "{u}も一緒に手続きできますか。", "先月この市に引っ越してきました。", "よろしくお願いします。",
    "ホームページを見てもよくわかりませんでした。", "子どもが二人います。",
    "電話がつながりにくいです。", "窓口の受付時間を知りたいです。", "{t}の締め切りが心配です。",
    "去年は郵送で手続きしました。",
]
JA_ANSWERS = [
    "{o}の窓口で手続きできます。", "{t}は{c}でも申し込めます。",
    "必要なものは本人確認書類と{doc}です。",
    "私も同じことで困りましたが、{o}に電話したら教えてもらえました。",
    "市のホームページに記入例があります。", "受付は平日の8時30分から17時までです。",
    "土曜日の午前中も窓口が開いている日があります。", "{u}のほうは別の窓口です。",
    "郵送でも受け付けています。", "手数料は300円でした。",
]
JA_PLACES = ["中央", "北町", "南町", "東町", "西町", "桜ヶ丘", "川辺", "緑町"]
JA_OFFICES = ["市民課", "子育て支援課", "環境課", "保健センター", "税務課", "図書館",
              "スポーツ課", "福祉課"]
JA_CHANNELS = ["オンライン", "郵送", "電話", "コンビニ"]
JA_DOCS = ["印鑑", "通帳", "保険証", "マイナンバーカード", "在留カード", "母子健康手帳"]

EN_TOPICS = [
    "residence registration", "moving-out notice", "resident certificate", "My Number card",
    "child benefit", "nursery school", "vaccination", "cancer screening", "health check-up",
    "national health insurance", "resident tax", "bulky waste", "recycling", "garbage sorting",
    "library card", "community center", "sports center", "bicycle parking",
    "dog registration", "care insurance", "senior bus pass", "water bill", "street light",
    "park", "voting", "passport", "marriage registration", "birth registration", "pension",
]
EN_TITLES = [
    "How do I apply for {t}?", "Question about {t}", "Where can I get {t}?",
    "Deadline for {t}", "Documents needed for {t}", "Can I do {t} online?",
    "Problem with {t}", "Can I do {t} and {u} together?", "How much does {t} cost?",
]
EN_SENTENCES = [
    "I live in {d}.", "I am having trouble with {t}.", "I cannot visit city hall on weekdays.",
    "Can I also do {u} at the same time?", "I moved to the city last month.", "Thank you.",
    "The website was not clear to me.", "I do not read Japanese well.",
    "The phone line is always busy.",
]
EN_ANSWERS = [
    "You can do it at the {o} counter.", "{t} can also be done {c}.",
    "Bring your ID and {doc}.", "I had the same problem; calling the {o} helped.",
    "There is an example form on the city website.", "The counter is open 8:30 to 17:00.",
    "Some Saturdays the counter is open in the morning.", "The fee was 300 yen.",
]
EN_OFFICES = ["citizens' services", "childcare", "environment", "health center", "tax",
              "library", "sports", "welfare"]
EN_CHANNELS = ["online", "by post", "by phone", "at a convenience store"]
EN_DOCS = ["your seal", "your bank book", "your insurance card", "your residence card"]


def _ja_text(rng, topic, templates, count) -> str:
    return "".join(rng.choice(templates).format(
        t=topic, u=rng.choice(JA_TOPICS), d=rng.choice(JA_PLACES), o=rng.choice(JA_OFFICES),
        c=rng.choice(JA_CHANNELS), doc=rng.choice(JA_DOCS)) for _ in range(count))


def _en_text(rng, topic, templates, count) -> str:
    return " ".join(rng.choice(templates).format(
        t=topic, u=rng.choice(EN_TOPICS), d=rng.choice(JA_PLACES), o=rng.choice(EN_OFFICES),
        c=rng.choice(EN_CHANNELS), doc=rng.choice(EN_DOCS)) for _ in range(count))


COLUMNS = ("id", "kind", "question_id", "author_id", "title", "body", "body_html", "lang",
           "status", "moderation_reason", "official", "score", "up_votes", "down_votes",
           "answer_count", "view_count", "flag_count", "accepted_answer_id", "created_at",
           "last_activity_at", "first_answer_at")


def _bulk(rows) -> None:
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        with raw.cursor().copy(
                f"COPY community_posts ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        connection.execute(insert(Post.__table__),
                           [dict(zip(COLUMNS, row, strict=True)) for row in rows])


def _html(text_: str) -> str:
    """What the Markdown renderer stores for plain text (a paragraph), made cheaply."""
    return f"<p>{html.escape(text_)}</p>"


def populate(questions: int, answers: int, seed: int) -> int:
    """Questions and answers (bulk) after the posts already there; returns the bench
    author's id."""
    rng = random.Random(seed)
    author = User(email="resident@bench.example", display_name="Bench resident",
                  role=Role.RESIDENT, password_hash="!unusable", active=True)  # noqa: S106
    db.session.add(author)
    db.session.commit()
    now = datetime.now(UTC).replace(microsecond=0)
    per_question = [0] * questions
    for _ in range(answers):
        per_question[rng.randrange(questions)] += 1
    rows = []
    tags: list[dict] = []  # each question about one service of the catalogue
    service_ids = db.session.scalars(select(Service.id).order_by(Service.id)).all()
    chosen: list[dict] = []  # accepted answers, set once both rows are in
    next_id = (db.session.scalar(select(func.max(Post.id))) or 0) + 1
    for n in range(questions):
        ja = rng.random() < 0.9
        created = now - timedelta(seconds=rng.randint(0, 3 * 365 * 86400))
        if ja:
            topic = rng.choice(JA_TOPICS)
            title = rng.choice(JA_TITLES).format(t=topic, u=rng.choice(JA_TOPICS))
            body = _ja_text(rng, topic, JA_SENTENCES, rng.randint(2, 5))
        else:
            topic = rng.choice(EN_TOPICS)
            title = rng.choice(EN_TITLES).format(t=topic, u=rng.choice(EN_TOPICS))
            body = _en_text(rng, topic, EN_SENTENCES, rng.randint(2, 5))
        qid = next_id
        next_id += 1
        count = per_question[n]
        answer_rows = []
        for k in range(count):
            answered = min(now, created + timedelta(hours=rng.uniform(1, 24 * 30)))
            text_ = (_ja_text(rng, topic, JA_ANSWERS, rng.randint(1, 3)) if ja
                     else _en_text(rng, topic, EN_ANSWERS, rng.randint(1, 3)))
            score = max(0, int(rng.gauss(1, 2)))
            answer_rows.append((next_id, "answer", qid, author.id, "", text_, _html(text_),
                                "ja" if ja else "en", "published", "", k == 0 and
                                rng.random() < 0.1, score, score, 0, 0, 0, 0, None, answered,
                                answered, None))
            next_id += 1
        accepted = answer_rows[0][0] if answer_rows and rng.random() < 0.3 else None
        score = max(0, int(rng.gauss(2, 3)))
        tags.append({"question_id": qid, "service_id": rng.choice(service_ids)})
        rows.append((qid, "question", None, author.id, title[:200], body, _html(body),
                     "ja" if ja else "en", "published", "", False, score, score, 0, count,
                     rng.randint(0, 500), 0, None, created, created,
                     answer_rows[0][18] if answer_rows else None))
        rows += answer_rows
        if accepted:
            chosen.append({"q": qid, "a": accepted})
        if len(rows) >= BATCH:
            _bulk(rows)
            rows = []
    _bulk(rows)
    for start in range(0, len(tags), BATCH):
        db.session.execute(insert(QuestionService.__table__), tags[start:start + BATCH])
    db.session.execute(text("UPDATE community_posts SET accepted_answer_id = :a WHERE id = :q"),
                       chosen)
    if db.session.connection().dialect.name == "postgresql":
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('community_posts', "
                                "'id'), (SELECT max(id) FROM community_posts))"))
    db.session.commit()
    return author.id


def analyse() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def summary(times: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    times = sorted(times)
    return (statistics.median(times) * 1000,
            times[max(0, int(len(times) * 0.95 + 0.5) - 1)] * 1000)


def page_times(client, path: str, requests: int) -> list[float]:
    times = []
    client.get(path)
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"FAILED: GET {path} answered {response.status_code}, not 200")
    return times


def run(url: str, args) -> dict:
    if url.startswith("postgresql"):
        ensure_database(url)
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url,
                                 "INSTANCE_PATH": tempfile.mkdtemp()})
    reset(app)
    figures: dict = {}
    with app.app_context():
        # the relevance set first, on its own (the generated posts are about the same
        # topics: inside them its "must come first" lists would no longer hold)
        load_catalogue()
        db.session.commit()
        keys = relevance.load(None)
        db.session.commit()
        outcomes = relevance.evaluate(keys)
        figures["precision"] = relevance.precision_at_3(outcomes)
        figures["misses"] = [(o.query, o.found, o.relevant) for o in outcomes
                             if o.precision < 1]
        started = time.perf_counter()
        populate(args.questions, args.answers, args.seed)
        analyse()
        posts = db.session.scalar(select(func.count()).select_from(Post))
        print(f"  populated {posts} posts in {time.perf_counter() - started:.1f} s",
              flush=True)

        started = time.perf_counter()
        documents = reindex()
        db.session.commit()
        seconds = time.perf_counter() - started
        analyse()
        figures["index"] = (documents, seconds)
        print(f"  index from scratch: {documents} documents in {seconds:.1f} s "
              f"({documents / seconds:.0f} rows/s)", flush=True)

        rng = random.Random(args.seed)
        ids = [rng.randint(1, posts) for _ in range(args.repeat * 50)]
        lookups = []
        for post_id in ids:
            db.session.expunge_all()
            began = time.perf_counter()
            db.session.get(Post, post_id)
            lookups.append(time.perf_counter() - began)
        figures["pk"] = summary(lookups)

        queries = [(c["query"], c["locale"]) for c in relevance.cases()] + EXTRA_QUERIES
        queries = queries[:50]
        times, worst, totals = [], {}, {}
        for query, locale in queries:
            totals[query] = search(query, locale, kinds=EVERYTHING).total  # warm-up
            for _ in range(args.repeat):
                db.session.expunge_all()
                began = time.perf_counter()
                search(query, locale, kinds=EVERYTHING, limit=20)
                took = time.perf_counter() - began
                times.append(took)
                worst[query] = max(worst.get(query, 0), took)
        figures["search"] = summary(times)
        figures["search_n"] = (len(queries), len(times))
        figures["slowest"] = sorted(worst.items(), key=lambda kv: -kv[1])[:5]
        figures["totals"] = totals
        question_id = db.session.scalar(
            select(Post.id).where(Post.kind == "question", Post.answer_count >= 3)
            .order_by(Post.id).limit(1))

    client = app.test_client()
    figures["healthz"] = summary(page_times(client, "/healthz", args.requests))
    with app.app_context():
        service_slug = db.session.scalar(select(Service.slug).order_by(Service.id).limit(1))
    pages = {"question page": f"/community/questions/{question_id}",
             "list: newest": "/community/", "list: unanswered": "/community/?sort=unanswered",
             "list: most voted": "/community/?sort=votes",
             "list: one service": f"/community/?service={service_slug}",
             "list: newest, page 50": "/community/?page=50"}
    figures["pages"] = {name: summary(page_times(client, path, args.requests))
                        for name, path in pages.items()}
    figures["search_page"] = summary(page_times(
        client, "/community/search?q=%E8%BB%A2%E5%85%A5%E5%B1%8A&kind=faq", args.requests))
    return figures


def report(name: str, f: dict) -> None:
    documents, seconds = f["index"]
    print(f"\n{name}")
    print(f"  baseline: primary-key lookup median {f['pk'][0]:.2f} ms, p95 {f['pk'][1]:.2f} ms;"
          f" /healthz median {f['healthz'][0]:.1f} ms, p95 {f['healthz'][1]:.1f} ms")
    print(f"  index build: {documents} documents, {seconds:.1f} s, "
          f"{documents / seconds:.0f} rows/s")
    median, p95 = f["search"]
    queries, samples = f["search_n"]
    verdict = "meets" if p95 <= 50 else "MISSES"
    print(f"  search: {queries} queries × {samples // queries} = {samples} searches: median "
          f"{median:.1f} ms, p95 {p95:.1f} ms ({verdict} the ≤ 50 ms target); "
          f"p95 / primary-key p95 = {p95 / f['pk'][1]:.0f}×")
    print("  slowest: " + ", ".join(f"{q} {t * 1000:.0f} ms ({f['totals'][q]} results)"
                                    for q, t in f["slowest"]))
    print(f"  search page (/community/search, FAQ only) median {f['search_page'][0]:.1f} ms, "
          f"p95 {f['search_page'][1]:.1f} ms")
    for page, (med, p) in f["pages"].items():
        print(f"  {page}: median {med:.1f} ms, p95 {p:.1f} ms "
              f"({'meets' if p <= 100 else 'MISSES'} the ≤ 100 ms target)")
    print(f"  precision@3 of the relevance set ({len(relevance.cases())} queries, its corpus "
          f"alone): {f['precision']:.3f}")
    for query, found, wanted in f["misses"]:
        print(f"    {query}: first three {list(found)}, relevant {list(wanted)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"),
                        default="sqlite")
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    targets = []
    if args.database in ("sqlite", "both"):
        targets.append(("SQLite", f"sqlite:///{tempfile.mkdtemp()}/community_bench.db"))
    if args.database in ("postgresql", "both"):
        targets.append(("PostgreSQL", os.environ.get("PORTAL_BENCH_DATABASE_URL", PG_DEFAULT)))
    print(f"community bench: {args.questions} questions, {args.answers} answers")
    results = []
    for name, url in targets:
        print(f"{name}: building", flush=True)
        results.append((name, run(url, args)))
    for name, figures in results:
        report(name, figures)


if __name__ == "__main__":
    main()
