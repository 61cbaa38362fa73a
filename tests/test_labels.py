"""No stored code reaches a page: channels, kinds and sources of use, contact
channels, audit actions and targets, roles and districts go through their
catalogues. One test finds every audit action the code records and asks for its
label; the others render the pages staff and residents read, in Japanese, with
data that holds every code, and look for the codes in the visible text."""

from __future__ import annotations

import ast
import re
import uuid
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

from sqlalchemy import func, select

from portal.audit.labels import ACTION_LABELS, TARGET_LABELS, action_label, target_label
from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.auth.tokens import INVITATION, RESET
from portal.config import PACKAGE_ROOT
from portal.extensions import db
from portal.residents.operations import CONTACT_CHANNELS
from portal.services.models import Channel, EventSource, UsageEvent
from portal.services.usage import KIND_LABELS, kind_label, source_label
from portal.timeutil import utcnow
from tests import factories

JA = {"Accept-Language": "ja"}

# Actions built at run time; each place must be listed here with what it can record,
# so a new dynamic action fails the test until someone lists (and labels) it.
DYNAMIC_ACTIONS = {
    ("auth/views.py", "set_password"): {f"auth.{p.replace('-', '_')}"
                                        for p in (RESET, INVITATION)},
    ("auth/accounts.py", "record"): set(),  # set_password passes its caller's action on
    # a moderator's decision on a post (``_audit``), an FAQ entry's save (``_save``)
    ("community/moderation.py", "record"): {"community.approve", "community.restore",
                                            "community.hide", "community.delete"},
    ("faq/operations.py", "record"): {"faq.create", "faq.promote", "faq.update",
                                      "faq.review", "faq.archive", "faq.restore"},
}


def _strings(node: ast.AST) -> set[str] | None:
    """The strings an argument can be, or None when it is computed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        body, orelse = _strings(node.body), _strings(node.orelse)
        return body | orelse if body is not None and orelse is not None else None
    return None


def recorded_actions() -> tuple[set[str], list[str]]:
    """Every action string passed to record()/record_many() (or to set_password,
    which records its ``action``), and the calls whose action is computed."""
    found: set[str] = set()
    computed: list[str] = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        relative = path.relative_to(PACKAGE_ROOT).as_posix()
        if relative.startswith("migrations/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in ("record", "record_many") and node.args:
                argument = node.args[0]
            elif name == "set_password":
                argument = next((k.value for k in node.keywords if k.arg == "action"), None)
                if argument is None:
                    continue
            else:
                continue
            values = _strings(argument)
            if values is None:
                key = (relative, name)
                if key in DYNAMIC_ACTIONS:
                    found |= DYNAMIC_ACTIONS[key]
                else:
                    computed.append(f"{relative}:{node.lineno}")
            else:
                found |= values
    return found, computed


def test_every_recorded_audit_action_has_a_label():
    actions, computed = recorded_actions()
    assert computed == [], "audit actions computed at run time: list them in DYNAMIC_ACTIONS"
    assert len(actions) > 30  # the scan sees the code base
    assert sorted(a for a in actions if a not in ACTION_LABELS) == []


def test_labels_are_translated_and_unknown_codes_stay_readable(app):
    with app.test_request_context(headers=JA):
        assert action_label("resident.view") == "住民記録の閲覧"
        assert action_label("something.new") == "その他の操作"  # never a raw code
        assert target_label("residents") == "住民"
        assert kind_label("loan") == "貸出" and kind_label(None) == "利用"
        assert kind_label("本の貸出") == "本の貸出"  # free text from a departmental system
        assert source_label("api") == "担当課のシステム（API）"


class VisibleText(HTMLParser):
    """Text a reader sees: text nodes outside script/style, and not inside an
    element marked as written in another language (``lang="en"``: a Latin name,
    an audit summary kept in English as written)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    VOID = {"br", "img", "input", "meta", "link", "hr", "col", "source", "wbr"}

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        lang = dict(attrs).get("lang")
        hidden = tag in ("script", "style") or (lang is not None and not lang.startswith("ja"))
        self.stack.append((tag, hidden or (self.stack[-1][1] if self.stack else False)))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not (self.stack and self.stack[-1][1]):
            self.parts.append(data)


def visible_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    return {word.strip(".-") for word in re.findall(r"[A-Za-z][A-Za-z0-9_.@\-]*", text)}


ENUM_CODES = (
    {c.value for c in Channel} | {s.value for s in EventSource} | set(KIND_LABELS)
    | set(ACTION_LABELS) | set(TARGET_LABELS) | set(CONTACT_CHANNELS)
    | {r.value for r in Role}
)


def assert_no_codes(html: str, where: str) -> None:
    shown = visible_words(html) & ENUM_CODES
    assert shown == set(), f"raw codes on {where}: {sorted(shown)}"


def _every_kind_channel_and_source(resident, slug="library-loans"):
    service = factories.service(slug)
    channels = [c.value for c in Channel]
    sources = [s.value for s in EventSource]
    rows = [UsageEvent(resident_id=resident.id, service_id=service.id, kind=kind,
                       channel=channels[n % len(channels)], source=sources[n % len(sources)],
                       occurred_at=utcnow() - timedelta(hours=n + 1),
                       idempotency_key=uuid.uuid4().hex)
            for n, kind in enumerate(KIND_LABELS)]
    db.session.add_all(rows)
    db.session.flush()


def test_the_360_page_and_the_resident_list_show_no_codes(manager_client, catalogue):
    resident = factories.resident(name_latin="Hanako Sato", district="北町",
                                  preferred_channels=list(CONTACT_CHANNELS),
                                  consent_outreach=True)
    _every_kind_channel_and_source(resident)
    db.session.commit()
    html = manager_client.get(f"/admin/residents/{resident.id}", headers=JA).get_data(
        as_text=True)
    assert "貸出延長" in html and "デモデータ" in html and "郵便" in html  # the labels are there
    assert_no_codes(html, "the 360° page")
    listing = manager_client.get("/admin/residents/", headers=JA).get_data(as_text=True)
    assert "北町" in listing
    assert_no_codes(listing, "the resident list")


def test_my_page_shows_no_codes(resident_client, users, catalogue):
    me = factories.resident(user_id=users["resident"].id, district="川辺")
    _every_kind_channel_and_source(me)
    db.session.commit()
    html = resident_client.get("/my/", headers=JA).get_data(as_text=True)
    assert "窓口" in html  # a channel by its label
    assert_no_codes(html, "My page")


def test_the_audit_log_shows_no_codes(admin_client, users, catalogue):
    targets = list(TARGET_LABELS)
    db.session.add_all(AuditEntry(action=action, actor_id=users["admin"].id,
                                  actor_label="admin@example.org",
                                  target_type=targets[n % len(targets)], target_id=str(n),
                                  summary=f"{action} in English")
                       for n, action in enumerate(ACTION_LABELS))
    db.session.commit()
    html = admin_client.get("/admin/audit", headers=JA).get_data(as_text=True)
    assert "住民記録の閲覧" in html and "APIトークン" in html
    assert_no_codes(html, "the audit log")


def test_the_check_sees_a_raw_code(app):
    """The guard itself: a page with a code in its text fails, one with it only in
    an attribute or in English-marked text passes."""
    assert visible_words("<td>counter</td>") & ENUM_CODES == {"counter"}
    assert visible_words("<td>resident.view</td>") & ENUM_CODES == {"resident.view"}
    assert visible_words('<td data-x="counter"><span lang="en">phone</span></td>') \
        & ENUM_CODES == set()
    assert Path(PACKAGE_ROOT / "audit" / "labels.py").exists()


def test_the_counter_form_offers_kinds_by_their_labels(staff_client, catalogue):
    resident = factories.resident()
    db.session.commit()
    page = staff_client.get(f"/admin/residents/{resident.id}", headers=JA).get_data(
        as_text=True)
    assert '<option value="check-up">健診</option>' in page
    loans = factories.service("library-loans")
    staff_client.post(f"/admin/residents/{resident.id}/usage", data={
        "service_id": loans.id, "channel": "counter", "kind": "reservation"})
    event = db.session.scalar(select(UsageEvent).where(UsageEvent.resident_id == resident.id))
    assert event.kind == "reservation"
    refused = staff_client.post(f"/admin/residents/{resident.id}/usage", data={
        "service_id": loans.id, "channel": "counter", "kind": "=cmd|x"}, headers=JA)
    assert refused.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(UsageEvent)
                             .where(UsageEvent.resident_id == resident.id)) == 1


def test_an_audit_action_and_a_column_heading_with_the_same_english_differ_in_japanese(app):
    """"Signed in" is both the audit action (ログイン) and the sign-in time heading of
    the account settings (ログイン日時): one Japanese word for both reads wrong."""
    with app.test_request_context(headers=JA):
        assert action_label("auth.login") == "ログイン"
        from flask_babel import gettext

        assert gettext("Signed in") == "ログイン日時"
