# ruff: noqa: E501 - demo texts in Japanese (double-width) are kept one per line
"""The demo's community (``portal demo``): starter topics, about forty questions in
Japanese and English across services and topics with answers, votes, accepted and
official answers, follows, one first post waiting for a moderator and one flagged
answer; a few FAQ entries (児童手当, ごみ/ゴミ …) with their first version, and the
synonym group 子ども手当 / 児童手当.

Idempotent: topics, members, entries and the synonym group are matched by slug,
e-mail, question and terms, and the posts by their ``submission_key`` (``demo-…``),
so a second run adds nothing. Every post and entry is announced through
``portal.community.events`` so a search index fills as they go in.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from portal.auth import passwords
from portal.auth.models import Role, User
from portal.community import events
from portal.community.markdown import render as render_markdown
from portal.community.models import (
    Flag,
    FlagReason,
    Follow,
    Member,
    Post,
    PostKind,
    PostStatus,
    QuestionService,
    QuestionTopic,
    Topic,
    Vote,
)
from portal.demo.generator import DEMO_DOMAIN, DEMO_PASSWORD
from portal.extensions import db
from portal.faq.models import FaqEntry, FaqEntryService, FaqVersion, SynonymGroup
from portal.services.models import Department, Service
from portal.timeutil import utcnow

TOPICS = [
    ("moving", "引っ越し・転入転出", "Moving house"),
    ("childcare", "子育て", "Childcare"),
    ("rubbish", "ごみ・リサイクル", "Rubbish and recycling"),
    ("taxes", "税金", "Taxes"),
    ("health", "健康・医療", "Health"),
    ("library", "図書館", "Library"),
    ("sports", "スポーツ・運動", "Sports and exercise"),
    ("seniors", "高齢者の暮らし", "Older residents"),
]

#: community names of the demo members (resident accounts, the demo password)
MEMBERS = ["さくらママ", "転入したばかり", "川辺の住人", "Alex M.", "図書館好き", "ランナー田中",
           "Priya", "ひまわり", "新しく来た人"]

# (title, body, lang, services, topics, views, answers); an answer is (body, official
# department code or None); the first resident answer of a question marked "*" is accepted
QUESTIONS = [
    ("転入届の書き方を教えてください", "来月引っ越してきます。転入届はどこで、何を持って行けばよいですか？",
     "ja", ["resident-certificate"], ["moving"], 140,
     [("*市民課の窓口で出せました。本人確認書類と転出証明書が必要でした。", None),
      ("転入届は引っ越してから14日以内に市民課へ。転出証明書（マイナンバーカードで転出した方は不要）と本人確認書類をお持ちください。", "citizens")]),
    ("住民票の写しはコンビニで取れますか", "平日は仕事で窓口に行けません。", "ja",
     ["resident-certificate", "my-number-card"], ["moving"], 96,
     [("*マイナンバーカードがあればコンビニで取れます。朝6時半から夜11時までです。", None)]),
    ("マイナンバーカードの受け取りに予約は必要ですか", "通知が届きました。", "ja",
     ["my-number-card"], [], 75,
     [("予約なしでも行けましたが、少し待ちました。", None),
      ("受け取りは予約制です。通知のはがきに記載の方法でご予約ください。", "citizens")]),
    ("税証明書を郵送で請求できますか", "遠方に住んでいます。", "ja", ["tax-certificate"], ["taxes"], 42,
     [("*できます。申請書と定額小為替を送りました。", None)]),
    ("住民税の納付書をなくしました", "再発行はどこでお願いできますか？", "ja", ["tax-certificate"],
     ["taxes"], 38, []),
    ("ごみの分別アプリの使い方", "「さくらごみナビ」で収集日の通知を受け取る設定がわかりません。", "ja",
     ["waste-sorting-app"], ["rubbish"], 120,
     [("*設定 → 通知 → 地区を選ぶ、でできました。", None),
      ("アプリの「設定」から地区を選ぶと、前日の夕方に通知が届きます。", "environment")]),
    ("粗大ゴミの申し込み方法", "ソファを捨てたいです。", "ja", ["bulky-waste-collection"],
     ["rubbish"], 88,
     [("電話かウェブで申し込めます。処理券をコンビニで買って貼ります。", None)]),
    ("ペットボトルのキャップは何ごみですか", "", "ja", ["waste-sorting-app"], ["rubbish"], 64,
     [("*プラスチック製容器包装です。", None)]),
    ("リサイクルステーションの開いている時間", "土曜日も開いていますか？", "ja",
     ["recycling-station"], ["rubbish"], 31, []),
    ("電池はどこに捨てればいいですか", "乾電池とボタン電池です。", "ja", ["recycling-station"],
     ["rubbish"], 27, [("乾電池は有害ごみの日です。ボタン電池は電器店の回収箱へ。", None)]),
    ("保育園の入所申し込みはいつからですか", "4月入所を希望しています。", "ja",
     ["nursery-enrollment"], ["childcare"], 150,
     [("去年は11月に受付がありました。", None),
      ("4月入所の一次申し込みは11月1日から30日までです。詳しくは入所のご案内をご覧ください。", "childcare")]),
    ("学童保育の空き状況", "小学2年生です。途中から入れますか？", "ja", ["after-school-club"],
     ["childcare"], 58, []),
    ("子育て支援センターは予約が必要？", "0歳の子と遊びに行きたいです。", "ja",
     ["family-support-center"], ["childcare"], 44,
     [("*予約なしで行けます。午前中が空いています。", None)]),
    ("児童手当の手続き", "出生届のあと、児童手当の申請はどこでしますか？", "ja",
     ["nursery-enrollment"], ["childcare"], 110,
     [("子育て支援課でしました。", None)]),
    ("乳幼児健診の持ち物", "3か月健診です。", "ja", ["infant-health-checkup"],
     ["childcare", "health"], 52,
     [("*母子健康手帳と問診票、バスタオルを持って行きました。", None)]),
    ("特定健診の受け方", "国民健康保険です。", "ja", ["specific-health-checkup"], ["health"], 47,
     [("受診券が届いたら、指定の医療機関に予約します。", None),
      ("受診券が6月に届きます。市内の指定医療機関へ直接ご予約ください。", "health")]),
    ("がん検診の費用", "大腸がん検診は無料ですか？", "ja", ["cancer-screening"], ["health"], 66, []),
    ("インフルエンザ予防接種の助成", "70歳の母の分です。", "ja", ["senior-flu-vaccination"],
     ["health", "seniors"], 39,
     [("65歳以上は自己負担が少なくなります。", None)]),
    ("敬老パスの申請", "75歳になりました。", "ja", ["senior-bus-pass"], ["seniors"], 71,
     [("*福祉課で申請しました。写真は不要でした。", None)]),
    ("介護の相談はどこに？", "父の介護について相談したいです。", "ja", ["community-care-center"],
     ["seniors"], 53,
     [("地域包括支援センターに電話しました。親切でした。", None)]),
    ("いきいき体操に参加したい", "初めてでも大丈夫ですか？", "ja", ["care-prevention-exercise"],
     ["seniors", "sports"], 22, []),
    ("図書館の本の延長方法", "", "ja", ["library-loans"], ["library"], 80,
     [("*ウェブの利用者ページから延長できます。", None),
      ("予約が入っていなければ、利用者ページまたは電話で1回延長できます。", "library")]),
    ("学習室の予約は何日前から？", "", "ja", ["library-study-room"], ["library"], 35,
     [("7日前からです。", None)]),
    ("図書館カードをなくしました", "再発行できますか？", "ja", ["library-loans"], ["library"], 29, []),
    ("体育館の予約方法", "バドミントンをしたいです。", "ja", ["sports-facility-booking"], ["sports"], 61,
     [("*施設予約システムから申し込めます。", None)]),
    ("プールの利用料金", "", "ja", ["sports-facility-booking"], ["sports"], 33,
     [("大人400円でした。", None)]),
    ("市民スポーツ教室の申し込み", "ヨガ教室に申し込みたいです。", "ja", ["community-sports-classes"],
     ["sports"], 26, []),
    ("引っ越しのときのごみ", "引っ越しで大量のごみが出ます。", "ja", ["bulky-waste-collection"],
     ["moving", "rubbish"], 45,
     [("粗大ゴミは早めに予約したほうがいいです。", None)]),
    ("転出届はオンラインでできますか", "", "ja", ["resident-certificate"], ["moving"], 57,
     [("マイナンバーカードがあればマイナポータルでできました。", None)]),
    ("子ども手当はまだありますか", "昔の「子ども手当」は今どうなっていますか？", "ja",
     ["nursery-enrollment"], ["childcare"], 49, []),
    ("How do I register after moving in?", "I just moved here from abroad. What do I bring?",
     "en", ["resident-certificate"], ["moving"], 90,
     [("*I went to the Citizens Affairs counter with my residence card and passport.", None),
      ("Please come to the Citizens Affairs Division within 14 days of moving in with your "
       "residence card and passport.", "citizens")]),
    ("Which day is burnable rubbish collected?", "I live in Kawabe district.", "en",
     ["waste-sorting-app"], ["rubbish"], 70,
     [("The waste app shows the calendar for each district.", None)]),
    ("How do I get rid of a broken bicycle?", "", "en", ["bulky-waste-collection"], ["rubbish"],
     34, [("Book a bulky waste collection and buy a sticker at a convenience store.", None)]),
    ("Can I borrow English books at the library?", "", "en", ["library-loans"], ["library"], 41,
     [("*Yes, there is a foreign-language shelf on the second floor.", None)]),
    ("Nursery school application in English?", "Is there help for non-Japanese speakers?",
     "en", ["nursery-enrollment"], ["childcare"], 38,
     [("Interpretation can be arranged for the enrolment consultation; please ask when "
       "booking.", "childcare")]),
    ("Is the health check-up free?", "I am 45 and on the national health insurance.", "en",
     ["specific-health-checkup"], ["health"], 29, []),
    ("How do I pay resident tax?", "", "en", ["tax-certificate"], ["taxes"], 24,
     [("You can pay at convenience stores with the payment slip.", None)]),
    ("Gym opening hours?", "", "en", ["sports-facility-booking"], ["sports"], 18, []),
    ("Where can I recycle batteries?", "", "en", ["recycling-station"], ["rubbish"], 15,
     [("The Kawabe recycling station takes dry batteries.", None)]),
    ("Child allowance for foreign residents", "Can we apply for the child allowance?", "en",
     ["nursery-enrollment"], ["childcare"], 27, []),
]

FAQ = [
    {"department": "childcare", "services": ["nursery-enrollment", "family-support-center"],
     "question_ja": "児童手当はいつ、どのように支給されますか？",
     "answer_ja": "児童手当は、中学校修了前（高校生年代まで）のお子さんを養育している方に支給されます。"
                  "出生や転入の翌日から15日以内に子育て支援課へ申請してください。"
                  "支給は偶数月に、前月分までをまとめて口座に振り込みます。",
     "question_en": "When and how is the child allowance (jidō teate) paid?",
     "answer_en": "The child allowance is paid to parents raising children up to high-school "
                  "age. Apply at the Child and Family Support Division within 15 days of a "
                  "birth or moving in. It is paid into your bank account in even-numbered "
                  "months."},
    {"department": "environment", "services": ["waste-sorting-app"],
     "question_ja": "ごみ（ゴミ）の分け方と出し方を教えてください",
     "answer_ja": "燃やすごみ、プラスチック、資源ごみ、有害ごみに分けて、収集日の朝8時までに"
                  "地区の集積所へ出してください。分け方に迷うゴミは、アプリ「さくらごみナビ」で"
                  "品目名を検索できます。",
     "question_en": "How do I sort and put out rubbish?",
     "answer_en": "Sort into burnable, plastics, recyclables and hazardous waste and put it "
                  "out at your district's collection point by 8 a.m. on collection day. The "
                  "Sakura Gomi Navi app tells you where each item goes."},
    {"department": "environment", "services": ["bulky-waste-collection"],
     "question_ja": "粗大ゴミはどうやって出せばよいですか？",
     "answer_ja": "粗大ごみ受付センターに電話かウェブで申し込み、コンビニで処理券を購入して"
                  "品物に貼り、指定の日の朝に出してください。",
     "question_en": "How do I put out bulky waste?",
     "answer_en": "Book a collection by phone or online, buy a disposal sticker at a "
                  "convenience store, stick it on the item and put it out on the morning of "
                  "the day given."},
    {"department": "citizens", "services": ["resident-certificate"],
     "question_ja": "転入届の書き方と必要なものは？",
     "answer_ja": "転入届は引っ越してから14日以内に市民課で提出します。転出証明書、本人確認書類、"
                  "マイナンバーカード（お持ちの方）をお持ちください。",
     "question_en": "How do I fill in the moving-in notification, and what do I bring?",
     "answer_en": "Hand in the moving-in notification at the Citizens Affairs Division within "
                  "14 days of moving. Bring your moving-out certificate, identification and "
                  "your My Number card if you have one.",
     "draft_en": True},
]

SYNONYMS = "子ども手当\n児童手当"


def _topics() -> dict[str, Topic]:
    have = {t.slug: t for t in db.session.scalars(select(Topic))}
    for slug, name_ja, name_en in TOPICS:
        if slug not in have:
            have[slug] = Topic(slug=slug, name_ja=name_ja, name_en=name_en)
            db.session.add(have[slug])
    db.session.flush()
    return have


def _members() -> list[User]:
    emails = [f"community{n + 1}@{DEMO_DOMAIN}" for n in range(len(MEMBERS))]
    have = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(emails)))}
    password_hash = None
    users = []
    for email, name in zip(emails, MEMBERS, strict=True):
        user = have.get(email)
        if user is None:
            password_hash = password_hash or passwords.hash_password(DEMO_PASSWORD)
            user = User(email=email, display_name=name, role=Role.RESIDENT,
                        password_hash=password_hash, active=True,
                        locale="en" if name.isascii() else "ja")
            db.session.add(user)
            db.session.flush()
            db.session.add(Member(user_id=user.id, public_name=name, trusted=True))
        users.append(user)
    db.session.flush()
    return users


def _post(**values) -> Post:
    post = Post(body_html=str(render_markdown(values.get("body", ""))), **values)
    db.session.add(post)
    return post


def fill_demo() -> dict[str, int]:
    """Add the demo community and FAQ once; returns what was added."""
    added = {"topics": 0, "questions": 0, "answers": 0, "faq": 0}
    before = db.session.scalar(select(func.count()).select_from(Topic))
    topics = _topics()
    added["topics"] = len(topics) - before
    added["faq"] = _faq()
    if db.session.scalar(select(Post.id).where(Post.submission_key == "demo-q0")) is not None:
        return added
    members = _members()
    departments = {d.code: d for d in db.session.scalars(select(Department))}
    services = {s.slug: s for s in db.session.scalars(select(Service))}
    staff = {u.department_id: u for u in db.session.scalars(
        select(User).where(User.role == Role.STAFF, User.email.like(f"staff.%@{DEMO_DOMAIN}")))}
    resident = db.session.scalar(select(User).where(User.email == f"resident@{DEMO_DOMAIN}"))
    now = utcnow()
    posts: list[Post] = []
    for i, (title, body, lang, slugs, topic_slugs, views, answers) in enumerate(QUESTIONS):
        asker = resident if (i % 7 == 3 and resident is not None) else members[i % len(members[:8])]
        asked_at = now - timedelta(days=85 - i * 2, hours=i % 5)
        question = _post(kind=PostKind.QUESTION, author_id=asker.id, title=title, body=body,
                         lang=lang, status=PostStatus.PUBLISHED, view_count=views,
                         submission_key=f"demo-q{i}", created_at=asked_at,
                         last_activity_at=asked_at)
        db.session.flush()
        for slug in slugs:
            if slug in services:
                db.session.add(QuestionService(question_id=question.id,
                                               service_id=services[slug].id))
        for slug in topic_slugs:
            db.session.add(QuestionTopic(question_id=question.id, topic_id=topics[slug].id))
        db.session.add(Follow(question_id=question.id, user_id=asker.id, created_at=asked_at))
        posts.append(question)
        added["questions"] += 1
        for j, (text, department_code) in enumerate(answers):
            accepted = text.startswith("*")
            text = text.lstrip("*")
            at = asked_at + timedelta(hours=3 + j * 20 + i % 4)
            department = departments.get(department_code) if department_code else None
            if department_code and (department is None or department.id not in staff):
                continue  # no staff account for it in this database
            author = (staff[department.id] if department is not None
                      else members[(i + j + 1) % len(members[:8])])
            if author.id == asker.id:
                author = members[(i + j + 2) % len(members[:8])]
            reply = _post(kind=PostKind.ANSWER, question_id=question.id, author_id=author.id,
                          body=text, lang=lang, status=PostStatus.PUBLISHED,
                          official=department is not None,
                          official_department_id=department.id if department else None,
                          reviewed_at=at if department is not None else None,
                          submission_key=f"demo-q{i}-a{j}", created_at=at, last_activity_at=at)
            db.session.flush()
            voters = [m for m in members[:8] if m.id not in (author.id, asker.id)][:(i + j) % 5 + 1]
            for voter in voters:
                db.session.add(Vote(post_id=reply.id, user_id=voter.id, value=1, created_at=at))
            reply.up_votes = reply.score = len(voters)
            question.answer_count += 1
            question.first_answer_at = question.first_answer_at or at
            if department is not None and question.first_official_answer_at is None:
                question.first_official_answer_at = at
            if accepted and question.accepted_answer_id is None:
                question.accepted_answer_id = reply.id
            question.last_activity_at = at
            posts.append(reply)
            added["answers"] += 1
        if resident is not None and i % 5 == 0 and asker.id != resident.id:
            db.session.add(Follow(question_id=question.id, user_id=resident.id,
                                  created_at=asked_at))
    # a new member's first post, waiting for a moderator
    newcomer = members[8]
    db.session.execute(Member.__table__.update().where(Member.user_id == newcomer.id)
                       .values(trusted=False))
    waiting = _post(kind=PostKind.QUESTION, author_id=newcomer.id,
                    title="市役所の駐車場は無料ですか", body="手続きで行くときに車を使いたいです。",
                    lang="ja", status=PostStatus.PENDING, submission_key="demo-pending",
                    created_at=now - timedelta(hours=5), last_activity_at=now - timedelta(hours=5))
    db.session.flush()
    db.session.add(QuestionService(question_id=waiting.id,
                                   service_id=services["resident-certificate"].id))
    posts.append(waiting)
    # one flagged answer (below the hiding threshold: still public, in the queue)
    flagged = next(p for p in posts if p.kind == PostKind.ANSWER and not p.official
                   and p.submission_key == "demo-q6-a0")
    flagger = next(m for m in members[:8] if m.id != flagged.author_id)
    db.session.add(Flag(post_id=flagged.id, user_id=flagger.id, reason=FlagReason.OFF_TOPIC,
                        note="質問と関係のない宣伝が含まれています。"))
    flagged.flag_count = 1
    db.session.flush()
    for post in posts:
        events.post_changed(post)
    return added


def _faq() -> int:
    departments = {d.code: d for d in db.session.scalars(select(Department))}
    services = {s.slug: s for s in db.session.scalars(select(Service))}
    have = set(db.session.scalars(select(FaqEntry.question_ja)))
    added = 0
    review_on = date.today() + timedelta(days=365)
    for item in FAQ:
        if item["question_ja"] in have or item["department"] not in departments:
            continue
        entry = FaqEntry(question_ja=item["question_ja"], answer_ja=item["answer_ja"],
                         question_en=item["question_en"], answer_en=item["answer_en"],
                         draft_en=item.get("draft_en", False),
                         department_id=departments[item["department"]].id, review_on=review_on,
                         version=1, last_reviewed_at=utcnow())
        db.session.add(entry)
        db.session.flush()
        service_ids = [services[s].id for s in item["services"] if s in services]
        for service_id in service_ids:
            db.session.add(FaqEntryService(entry_id=entry.id, service_id=service_id))
        db.session.add(FaqVersion(entry_id=entry.id, version=1, note="デモデータ",
                                  snapshot=_snapshot(entry, service_ids)))
        db.session.flush()
        events.faq_changed(entry)
        added += 1
    if SYNONYMS not in set(db.session.scalars(select(SynonymGroup.terms))):
        db.session.add(SynonymGroup(terms=SYNONYMS, note="旧称（子ども手当）で検索しても見つかるように"))
        db.session.flush()
    return added


def _snapshot(entry: FaqEntry, service_ids: list[int]) -> dict:
    return {"question_ja": entry.question_ja, "question_en": entry.question_en,
            "answer_ja": entry.answer_ja, "answer_en": entry.answer_en,
            "draft_ja": entry.draft_ja, "draft_en": entry.draft_en,
            "department_id": entry.department_id, "review_on": entry.review_on.isoformat(),
            "service_ids": service_ids, "status": entry.status or "published"}
