"""The starter library: eight playbooks and their message templates, in Japanese and
English, installed *paused* by ``portal seed`` (``portal demo`` activates them).

Everything is found again by its stable key (``Playbook.key``, ``MessageTemplate.key``),
so a second ``portal seed`` adds nothing and keeps what staff changed. Each playbook
is checked by ``definition.problems`` before it is stored, and gets its version 1
(``PlaybookVersion``), like a playbook saved in the console.

The templates use only the placeholders of ``portal.outreach.placeholders``:
``{name}`` (the resident's name with the honorific: 様 in Japanese), ``{service}``,
``{city}``, ``{link}`` (the service's page), ``{date}`` and ``{department}``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.extensions import db
from portal.outreach.models import MessageTemplate
from portal.playbooks import definition
from portal.playbooks.models import Playbook, PlaybookStatus, PlaybookVersion
from portal.services.models import Department, Service

PLACEHOLDERS = ("name", "service", "city", "link", "date", "department")

#: key → department code and the text in both languages
TEMPLATES: dict[str, dict[str, str]] = {
    "welcome": {
        "department": "citizens",
        "name_ja": "転入された方へのご案内",
        "name_en": "Welcome for new residents",
        "subject_ja": "{city}へようこそ",
        "subject_en": "Welcome to {city}",
        "body_ja": (
            "{name}\n\n"
            "このたびは{city}へ転入いただき、誠にありがとうございます。\n"
            "市では、ごみの分別アプリ、図書館、健康診査、子育て支援など、暮らしに役立つ"
            "さまざまなサービスをご用意しています。\n"
            "各種サービスの内容や手続きは、市のホームページでご確認いただけます。\n"
            "ご不明な点がございましたら、お気軽に{department}までお問い合わせください。\n\n"
            "{city} {department}"),
        "body_en": (
            "Dear {name},\n\n"
            "Thank you for moving to {city}, and welcome.\n"
            "The city offers many services for everyday life: a waste sorting app, the "
            "library, health check-ups, support for families and more. You can find what "
            "each service offers and how to use it on the city's website.\n"
            "If you have any questions, please contact the {department}.\n\n"
            "{city}, {department}"),
    },
    "senior-bus-pass": {
        "department": "welfare",
        "name_ja": "敬老パスのご案内",
        "name_en": "Senior bus pass: you are eligible",
        "subject_ja": "{service}のご案内",
        "subject_en": "Your {service}",
        "body_ja": (
            "{name}\n\n"
            "日頃より市政にご理解とご協力を賜り、ありがとうございます。\n"
            "{name}は、{service}の交付対象となっております。\n"
            "{service}をお持ちいただくと、市内の路線バスを割引料金でご利用いただけます。"
            "通院やお買い物、お出かけにぜひご活用ください。\n"
            "お申し込みの方法は、次のページでご案内しています。\n{link}\n\n"
            "ご不明な点は{department}までお問い合わせください。\n\n"
            "{city} {department}"),
        "body_en": (
            "Dear {name},\n\n"
            "You are eligible for the {service}. With it, you can ride the city's buses at "
            "a reduced fare — for visits to the doctor, shopping or simply going out.\n"
            "How to apply: {link}\n\n"
            "If you have any questions, please contact the {department}.\n\n"
            "{city}, {department}"),
    },
    "health-checkup-overdue": {
        "department": "health",
        "name_ja": "特定健診の受診のおすすめ",
        "name_en": "Annual health check-up reminder",
        "subject_ja": "{service}受診のおすすめ",
        "subject_en": "Time for your {service}",
        "body_ja": (
            "{name}\n\n"
            "前回の{service}から1年以上が経過しております。\n"
            "健診は、生活習慣病を早めに見つけ、健康を守るための大切な機会です。"
            "お忙しいところ恐れ入りますが、この機会にぜひ受診をご検討ください。\n"
            "受診できる医療機関やご予約の方法は、次のページでご確認いただけます。\n{link}\n\n"
            "ご不明な点は{department}までお問い合わせください。\n\n"
            "{city} {department}"),
        "body_en": (
            "Dear {name},\n\n"
            "More than a year has passed since your last {service}. A check-up is the best "
            "way to find lifestyle-related illnesses early. Please consider booking one.\n"
            "Where and how to book: {link}\n\n"
            "If you have any questions, please contact the {department}.\n\n"
            "{city}, {department}"),
    },
    "new-parent": {
        "department": "childcare",
        "name_ja": "ご出産された方へのご案内",
        "name_en": "Congratulations on your baby",
        "subject_ja": "ご出産おめでとうございます",
        "subject_en": "Congratulations on the birth of your child",
        "body_ja": (
            "{name}\n\n"
            "このたびはご出産、誠におめでとうございます。\n"
            "{city}では、乳幼児健康診査をはじめ、子育て支援センターでのご相談や親子の交流など、"
            "お子さまの健やかな成長とご家族を支えるサービスをご用意しています。\n"
            "{service}のご案内は、次のページでご覧いただけます。\n{link}\n\n"
            "近日中に担当の職員からご連絡を差し上げることがございます。"
            "ご不明な点は{department}までお気軽にお問い合わせください。\n\n"
            "{city} {department}"),
        "body_en": (
            "Dear {name},\n\n"
            "Congratulations on the birth of your child.\n"
            "{city} supports you and your child with health check-ups for infants, advice "
            "and play sessions at the family support centre, and more.\n"
            "About the {service}: {link}\n\n"
            "A member of our staff may contact you in the coming days. If you have any "
            "questions, please contact the {department}.\n\n"
            "{city}, {department}"),
    },
    "library-lapsed": {
        "department": "library",
        "name_ja": "図書館からのお知らせ",
        "name_en": "We miss you at the library",
        "subject_ja": "図書館からのお知らせ",
        "subject_en": "News from your library",
        "body_ja": (
            "{name}\n\n"
            "いつも図書館をご利用いただき、ありがとうございます。\n"
            "しばらくご来館がないようでしたので、ご案内を差し上げました。\n"
            "新しく入った本や雑誌のほか、インターネットでの蔵書検索・予約もご利用いただけます。\n"
            "{link}\n\n"
            "またのご来館を心よりお待ちしております。\n\n"
            "{city} {department}"),
        "body_en": (
            "Dear {name},\n\n"
            "We have not seen you at the library for a while. New books and magazines "
            "arrive every week, and you can search the catalogue and reserve items "
            "online.\n{link}\n\n"
            "We look forward to welcoming you again.\n\n"
            "{city}, {department}"),
    },
    "waste-app-stopped": {
        "department": "environment",
        "name_ja": "ごみ分別アプリのご案内",
        "name_en": "Your waste sorting app",
        "subject_ja": "{service}をご活用ください",
        "subject_en": "Keep using the {service}",
        "body_ja": (
            "{name}\n\n"
            "{service}をご利用いただき、ありがとうございます。\n"
            "最近ご利用がないようでしたので、ご案内を差し上げました。\n"
            "アプリでは、収集日のお知らせや品目ごとの分け方をいつでもご確認いただけます。"
            "通知が届かない場合は、アプリの設定をご確認ください。\n{link}\n\n"
            "ご不明な点は{department}までお問い合わせください。\n\n"
            "{city} {department}"),
        "body_en": (
            "Dear {name},\n\n"
            "Thank you for using the {service}. We noticed you have not used it for a "
            "while: it tells you the collection days and how to sort each item. If its "
            "reminders no longer reach you, please check the app's settings.\n{link}\n\n"
            "If you have any questions, please contact the {department}.\n\n"
            "{city}, {department}"),
    },
}


def _task(title_ja: str, title_en: str, *, offset: int, due: int, **assignee: Any
          ) -> dict[str, Any]:
    return {"kind": "task", "offset_days": offset, "title_ja": title_ja, "title_en": title_en,
            "due_days": due, **({"assignee": "queue"} | assignee)}


def _message(template: str, offset: int = 0) -> dict[str, Any]:
    # the template's key; replaced by its id when the playbook is stored
    return {"kind": "message", "offset_days": offset, "template": template}


#: key → the playbook (``department`` and ``service`` by code and slug)
PLAYBOOKS: dict[str, dict[str, Any]] = {
    "welcome": {
        "department": "citizens", "service": None,
        "name_ja": "転入された方へのご案内", "name_en": "Welcome for new residents",
        "description_ja": "転入・登録から30日以内の方に、市のサービスをご案内するメッセージを"
                          "お送りします。",
        "description_en": "A message introducing the city's services to residents who "
                          "registered or moved in within the last 30 days.",
        "trigger": "new_resident", "trigger_params": {"days": 30},
        "steps": [_message("welcome")],
        "cooldown_days": 365, "auto_close": False,
    },
    "senior-bus-pass": {
        "department": "welfare", "service": "senior-bus-pass",
        "name_ja": "敬老パス：対象なのに未利用", "name_en": "Senior bus pass: eligible, never used",
        "description_ja": "敬老パスの対象で一度も利用のない方にご案内をお送りし、2週間たっても"
                          "未利用であれば電話でご様子を伺います。",
        "description_en": "Residents eligible for the senior bus pass who never used it get a "
                          "message; if they still have not used it two weeks later, staff call.",
        "trigger": "never_used", "trigger_params": {},
        "steps": [_message("senior-bus-pass"), {"kind": "wait", "offset_days": 14},
                  _task("敬老パスについてお電話でご案内", "Call about the senior bus pass",
                        offset=14, due=7)],
        "cooldown_days": 180, "auto_close": True,
    },
    "health-checkup-overdue": {
        "department": "health", "service": "specific-health-checkup",
        "name_ja": "特定健診の受診期限切れ", "name_en": "Annual health check-up overdue",
        "description_ja": "前回の特定健診から受診間隔（1年）を過ぎた方に、受診をおすすめする"
                          "メッセージをお送りし、30日たっても未受診であればお電話でご案内します。",
        "description_en": "Residents whose last health check-up is more than its expected "
                          "interval (a year) ago get a reminder, and a call if they have not "
                          "booked 30 days later.",
        "trigger": "no_use", "trigger_params": {"intervals": 1},
        "steps": [_message("health-checkup-overdue"), {"kind": "wait", "offset_days": 30},
                  _task("特定健診の受診についてお電話でご案内", "Call about the health check-up",
                        offset=30, due=10)],
        "cooldown_days": 180, "auto_close": True,
    },
    "new-parent": {
        "department": "childcare", "service": "infant-health-checkup",
        "name_ja": "ご出産された方への子育て支援", "name_en": "New parent: child born",
        "description_ja": "お子さまが生まれてから60日以内のご家庭に、乳幼児健診と子育て支援の"
                          "ご案内をお送りし、職員がお電話でご様子を伺います。",
        "description_en": "Families with a child born within the last 60 days get a message "
                          "about infant check-ups and family support, and a call from staff.",
        "trigger": "life_event", "trigger_params": {"event": "child_born", "days": 60},
        "steps": [_message("new-parent"),
                  _task("子育て支援のご案内のお電話", "Call the new parents about family support",
                        offset=7, due=14)],
        "cooldown_days": 300, "auto_close": False,
    },
    "library-lapsed": {
        "department": "library", "service": "library-loans",
        "name_ja": "図書館の利用が途絶えた方", "name_en": "Library lapsed",
        "description_ja": "通常の貸出間隔の3倍以上、貸出のない方に図書館のご案内をお送りし、"
                          "4週間たってもご利用がなければ職員がお電話します。",
        "description_en": "Borrowers without a loan for more than three expected intervals "
                          "get a message from the library, and a call from staff if they have "
                          "not borrowed anything four weeks later.",
        "trigger": "no_use", "trigger_params": {"intervals": 3},
        "steps": [_message("library-lapsed"), {"kind": "wait", "offset_days": 28},
                  _task("利用が途絶えた方へのお電話", "Call the borrower who stopped coming",
                        offset=28, due=7)],
        "cooldown_days": 90, "auto_close": True,
    },
    "waste-app-stopped": {
        "department": "environment", "service": "waste-sorting-app",
        "name_ja": "ごみ分別アプリの利用停止", "name_en": "Waste app users who stopped",
        "description_ja": "ごみ分別アプリを通常の利用間隔の4倍以上使っていない方に、"
                          "ご案内をお送りします。",
        "description_en": "App users who have not used the waste sorting app for more than "
                          "four expected intervals get a message.",
        "trigger": "no_use", "trigger_params": {"intervals": 4},
        "steps": [_message("waste-app-stopped")],
        "cooldown_days": 120, "auto_close": True,
    },
    "detractor-follow-up": {
        "department": "citizens", "service": None,
        "name_ja": "アンケートで低評価の方へのお電話", "name_en": "Detractor follow-up call",
        "description_ja": "過去14日以内のアンケートで0〜6点とお答えいただいた方に、"
                          "担当課の職員が3日以内にお電話でお話を伺います。",
        "description_en": "Residents who answered a survey with 0–6 in the last 14 days get a "
                          "call from the department's staff within three days.",
        "trigger": "detractor", "trigger_params": {"days": 14},
        "steps": [_task("アンケートのご回答についてお電話", "Call about the survey answer",
                        offset=0, due=3)],
        "cooldown_days": 90, "auto_close": False,
    },
    "inquiry-overdue-escalation": {
        "department": "citizens", "service": None,
        "name_ja": "回答期限を過ぎたお問い合わせの上長対応",
        "name_en": "Overdue inquiry: escalate to the manager",
        "description_ja": "回答期限を過ぎたお問い合わせを課長に引き継ぎ、対応を確認します。"
                          "回答すると自動で終了します。",
        "description_en": "An inquiry past its answer date becomes a task for the manager; "
                          "the case closes by itself once the inquiry is answered.",
        "trigger": "inquiry_overdue", "trigger_params": {"days": 0},
        "steps": [_task("期限超過のお問い合わせを確認", "Review the overdue inquiry",
                        offset=0, due=1, assignee="role", role="manager")],
        "cooldown_days": 30, "auto_close": True,
    },
}
HOLDOUT_PERCENT = 10


class StarterError(RuntimeError):
    """A starter playbook does not pass ``definition.problems`` (a bug in this file)."""


def seed_templates(departments: dict[str, Department]) -> tuple[dict[str, MessageTemplate], int]:
    """The starter templates by key (added when missing); and how many were added."""
    have = {t.key: t for t in db.session.scalars(
        select(MessageTemplate).where(MessageTemplate.key.in_(list(TEMPLATES))))}
    made = 0
    for key, values in TEMPLATES.items():
        department = departments.get(values["department"])
        if key in have or department is None:
            continue
        fields = {name: value for name, value in values.items() if name != "department"}
        have[key] = MessageTemplate(key=key, department_id=department.id, **fields)
        db.session.add(have[key])
        made += 1
    db.session.flush()
    return have, made


def definition_of(key: str, departments: dict[str, Department], services: dict[str, Service],
                  templates: dict[str, MessageTemplate]) -> dict[str, Any] | None:
    """The starter playbook ``key`` as ``Playbook`` columns (None when the catalogue
    lacks its department or service)."""
    spec = PLAYBOOKS[key]
    department = departments.get(spec["department"])
    service = services.get(spec["service"]) if spec["service"] else None
    if department is None or (spec["service"] and service is None):
        return None
    steps = []
    for step in spec["steps"]:
        step = dict(step)
        if step["kind"] == "message":
            template = templates.get(step.pop("template"))
            if template is None:
                return None
            step["template_id"] = template.id
        steps.append(step)
    data = {name: spec[name] for name in (
        "name_ja", "name_en", "description_ja", "description_en", "trigger", "trigger_params",
        "cooldown_days", "auto_close")}
    data.update(department_id=department.id, service_id=service.id if service else None,
                conditions={}, steps=steps, holdout_percent=HOLDOUT_PERCENT,
                status=PlaybookStatus.PAUSED.value)
    return data


def seed_starter_playbooks() -> dict[str, int]:
    """Add the starter templates and playbooks that do not exist yet (paused, version
    1). Returns ``{"playbooks": n, "templates": n}`` added."""
    departments = {d.code: d for d in db.session.scalars(select(Department))}
    services = {s.slug: s for s in db.session.scalars(select(Service))}
    templates, made_templates = seed_templates(departments)
    have = set(db.session.scalars(select(Playbook.key).where(Playbook.key.in_(list(PLAYBOOKS)))))
    made = 0
    for key in PLAYBOOKS:
        if key in have:
            continue
        data = definition_of(key, departments, services, templates)
        if data is None:
            continue
        found = definition.problems(data)
        if found:
            raise StarterError(f"starter playbook {key}: "
                               + "; ".join(f"{p.field}: {p.message}" for p in found))
        playbook = Playbook(key=key, version=1, **data)
        db.session.add(playbook)
        db.session.flush()
        db.session.add(PlaybookVersion(playbook_id=playbook.id, version=1,
                                       snapshot=playbook.snapshot(),
                                       summary="starter library"))
        made += 1
    db.session.flush()
    return {"playbooks": made, "templates": made_templates}
