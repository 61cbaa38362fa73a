"""The playbooks console: list, view, new/edit with the steps editor, status,
versions, dry run and "evaluate now"."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.playbooks.models import Playbook, PlaybookStatus, PlaybookVersion
from tests import factories
from tests.playbook_factories import TASK_STEP, playbook, template
from tests.test_labels import assert_no_codes

JA = {"Accept-Language": "ja"}
EN = {"Accept-Language": "en"}


def form(department, **changes) -> dict:
    """What a browser posts for a valid new playbook (one task step)."""
    data = {"name_ja": "図書館の休眠者", "name_en": "Library lapsed", "description_ja": "",
            "description_en": "", "department_id": str(department.id),
            "service_id": str(factories.service("library-loans").id), "trigger": "no_use",
            "days": "90", "steps-0-kind": "task", "steps-0-offset_days": "0",
            "steps-0-title_ja": "お電話", "steps-0-title_en": "Call",
            "steps-0-assignee": "queue", "steps-0-due_days": "5", "cooldown_days": "90",
            "holdout_percent": "10", "auto_close": "y", "submit": "Save playbook"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def audits(action: str) -> list[AuditEntry]:
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# -- new -------------------------------------------------------------------------------


def test_a_manager_creates_a_paused_playbook_with_its_first_version(manager_client, catalogue,
                                                                    users):
    response = manager_client.post("/admin/playbooks/new", data=form(catalogue["library"]))
    assert response.status_code == 302
    book = db.session.scalars(select(Playbook).where(Playbook.name_en == "Library lapsed")).one()
    assert book.status == PlaybookStatus.PAUSED and book.version == 1
    assert book.trigger_params == {"days": 90}
    assert book.steps == [{"kind": "task", "offset_days": 0, "title_ja": "お電話",
                           "title_en": "Call", "assignee": "queue", "due_days": 5}]
    assert book.cooldown_days == 90 and book.holdout_percent == 10 and book.auto_close
    versions = db.session.scalars(select(PlaybookVersion).where(
        PlaybookVersion.playbook_id == book.id)).all()
    assert [(v.version, v.snapshot["name_en"]) for v in versions] == [(1, "Library lapsed")]
    entry = audits("playbook.create")[0]
    assert entry.target_id == str(book.id) and entry.actor_id == users["manager"].id


@pytest.mark.parametrize("changes, field_id, message", [
    ({"steps-0-kind": None, "steps-0-offset_days": None, "steps-0-title_ja": None,
      "steps-0-title_en": None}, "steps", "Add at least one task, message or survey step."),
    ({"steps-1-kind": "wait", "steps-1-offset_days": "10", "steps-2-kind": "task",
      "steps-2-offset_days": "3", "steps-2-title_ja": "再度", "steps-2-title_en": "Again",
      "steps-2-assignee": "queue", "steps-2-due_days": "2"}, "steps-2-offset_days",
     "A step cannot come before the step above it (day 10)."),
    ({"cooldown_days": "731"}, "cooldown_days", "Enter a number from 0 to 730."),
    ({"holdout_percent": "60"}, "holdout_percent", "Enter a number from 0 to 50."),
    ({"holdout_percent": "ten"}, "holdout_percent", "Enter a whole number."),
    ({"steps-0-title_ja": "", "steps-0-title_en": ""}, "steps-0-title_ja",
     "Enter the task's title in both languages."),
    ({"days": ""}, "days", "Give either the days without use or the number of expected "
                          "intervals."),
])
def test_a_definition_with_a_problem_is_refused_on_its_field_and_keeps_what_was_typed(
        manager_client, catalogue, changes, field_id, message):
    before = count(Playbook)
    response = manager_client.post("/admin/playbooks/new",
                                   data=form(catalogue["library"], **changes), headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message.replace("'", "&#39;") in html
    assert f'href="#{field_id}"' in html
    assert count(Playbook) == before
    assert 'value="Library lapsed"' in html and 'value="図書館の休眠者"' in html


def test_add_a_step_shows_one_more_empty_step_and_saves_nothing(manager_client, catalogue):
    response = manager_client.post("/admin/playbooks/new", data=form(
        catalogue["library"], submit=None, add_step="Add a step"), headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="steps-1-kind"' in html and 'name="steps-2-kind"' not in html
    assert 'value="お電話"' in html
    assert count(Playbook) == 0


def test_a_removed_step_is_left_out(manager_client, catalogue):
    response = manager_client.post("/admin/playbooks/new", data=form(
        catalogue["library"], **{"steps-1-kind": "wait", "steps-1-offset_days": "2",
                                  "steps-1-remove": "y"}))
    assert response.status_code == 302
    assert [s["kind"] for s in db.session.scalars(select(Playbook.steps)).one()] == ["task"]


def test_a_message_step_needs_a_template_of_the_owner_department(manager_client, catalogue):
    other = template(catalogue["health"])
    response = manager_client.post("/admin/playbooks/new", data=form(
        catalogue["library"], **{"steps-1-kind": "message", "steps-1-offset_days": "1",
                                  "steps-1-template_id": str(other.id)}), headers=EN)
    assert response.status_code == 400
    assert "Choose a template of the owner department." in response.get_data(as_text=True)


def test_a_survey_step_needs_a_survey_of_the_owner_department(app, catalogue):
    """However the definition arrives (the form lists the department's surveys only)."""
    from portal.playbooks.editing import check
    from portal.surveys.models import Survey

    other = Survey(department_id=catalogue["health"].id, title_en="Health survey")
    own = Survey(department_id=catalogue["library"].id, title_en="Library survey")
    db.session.add_all([other, own])
    db.session.flush()
    book = playbook(catalogue["library"])
    data = book.snapshot() | {"steps": [
        TASK_STEP, {"kind": "survey", "offset_days": 3, "survey_id": other.id}]}
    with app.test_request_context(headers=EN):
        assert [p.field for p in check(data)] == ["steps.1.survey_id"]
        data["steps"][1]["survey_id"] = own.id
        assert check(data) == []


def test_the_form_lists_the_owner_departments_templates_and_staff(manager_client, catalogue,
                                                                 users):
    own = template(catalogue["library"], name_en="Library note")
    template(catalogue["health"], name_en="Health note")
    db.session.commit()
    book = playbook(catalogue["library"])
    db.session.commit()
    html = manager_client.get(f"/admin/playbooks/{book.id}/edit", headers=EN).get_data(
        as_text=True)
    assert f'value="{own.id}">Library note' in html and "Health note" not in html
    assert users["staff"].display_name in html


# -- edit, versions, refusals ------------------------------------------------------------


def edit_form(book, **changes):
    from portal.playbooks.forms import form_data

    data = form_data(book)
    out = {k: v for k, v in data.items() if k not in ("steps", "districts", "age_bands",
                                                      "locales", "auto_close")}
    for n, step in enumerate(data["steps"]):
        out.update({f"steps-{n}-{k}": v for k, v in step.items()})
    if data["auto_close"]:
        out["auto_close"] = "y"
    out["submit"] = "Save playbook"
    out.update(changes)
    return out


def test_saving_bumps_the_version_and_lists_what_changed(manager_client, catalogue):
    book = playbook(catalogue["library"], status=PlaybookStatus.PAUSED)
    db.session.commit()
    response = manager_client.post(f"/admin/playbooks/{book.id}/edit",
                                   data=edit_form(book, cooldown_days="30", name_en="Renamed"))
    assert response.status_code == 302
    db.session.refresh(book)
    assert book.version == 2 and book.cooldown_days == 30 and book.name_en == "Renamed"
    latest = db.session.scalars(select(PlaybookVersion).where(
        PlaybookVersion.playbook_id == book.id, PlaybookVersion.version == 2)).one()
    assert latest.summary == "changed: name_en, cooldown_days"
    assert latest.snapshot["cooldown_days"] == 30
    assert audits("playbook.update")[0].data["fields"] == ["name_en", "cooldown_days"]
    html = manager_client.get(f"/admin/playbooks/{book.id}/versions", headers=EN).get_data(
        as_text=True)
    assert "Cooldown: 90 → 30 days" in html and "Name (English)" in html
    assert_no_codes(manager_client.get(f"/admin/playbooks/{book.id}/versions", headers=JA)
                    .get_data(as_text=True), "the versions page")


def test_a_stale_form_is_refused_and_keeps_what_was_typed(manager_client, catalogue):
    book = playbook(catalogue["library"], status=PlaybookStatus.PAUSED)
    db.session.commit()
    opened = edit_form(book, name_en="Mine")
    assert manager_client.post(f"/admin/playbooks/{book.id}/edit", data=edit_form(
        book, name_en="Theirs")).status_code == 302
    response = manager_client.post(f"/admin/playbooks/{book.id}/edit", data=opened,
                                   headers=EN)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved this playbook while you were editing it" in html
    assert 'value="Mine"' in html
    db.session.refresh(book)
    assert book.name_en == "Theirs" and book.version == 2


def test_an_archived_playbook_cannot_be_edited_or_activated(manager_client, catalogue):
    book = playbook(catalogue["library"], status=PlaybookStatus.ARCHIVED)
    db.session.commit()
    response = manager_client.post(f"/admin/playbooks/{book.id}/edit",
                                   data=edit_form(book, name_en="Again"), headers=EN)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "This playbook is archived" in html and 'value="Again"' in html
    response = manager_client.post(f"/admin/playbooks/{book.id}/status",
                                   data={"status": "active"}, headers=EN,
                                   follow_redirects=True)
    assert "This playbook is archived" in response.get_data(as_text=True)
    db.session.refresh(book)
    assert book.status == PlaybookStatus.ARCHIVED and book.version == 1
    assert manager_client.get(f"/admin/playbooks/{book.id}/edit").status_code == 302
    page = manager_client.get(f"/admin/playbooks/{book.id}", headers=EN).get_data(as_text=True)
    assert "can no longer be changed or activated" in page
    assert f"/admin/playbooks/{book.id}/edit" not in page


def test_status_changes_are_versions_and_audited_and_a_replay_says_so(manager_client,
                                                                      catalogue):
    book = playbook(catalogue["library"], status=PlaybookStatus.ACTIVE)
    db.session.commit()
    assert manager_client.post(f"/admin/playbooks/{book.id}/status",
                               data={"status": "paused"}).status_code == 302
    db.session.refresh(book)
    assert book.status == PlaybookStatus.PAUSED and book.version == 2
    entry = audits("playbook.status")[0]
    assert entry.data == {"from": "active", "to": "paused", "version": 2}
    replay = manager_client.post(f"/admin/playbooks/{book.id}/status",
                                 data={"status": "paused"}, headers=EN, follow_redirects=True)
    assert "This playbook is already paused." in replay.get_data(as_text=True)
    db.session.refresh(book)
    assert book.version == 2 and len(audits("playbook.status")) == 1
    assert manager_client.post(f"/admin/playbooks/{book.id}/status",
                               data={"status": "nonsense"}).status_code == 302
    db.session.refresh(book)
    assert book.version == 2


# -- list and view -----------------------------------------------------------------------


def test_staff_list_only_their_departments_playbooks(staff_client, manager_client, catalogue):
    playbook(catalogue["library"], name_en="Library one")
    playbook(catalogue["health"], service="cancer-screening", name_en="Health one")
    db.session.commit()
    staff_page = staff_client.get("/admin/playbooks/", headers=EN).get_data(as_text=True)
    assert "Library one" in staff_page and "Health one" not in staff_page
    assert "New playbook" not in staff_page and "Evaluate now" not in staff_page
    manager_page = manager_client.get("/admin/playbooks/", headers=EN).get_data(as_text=True)
    assert "Library one" in manager_page and "Health one" in manager_page
    assert "New playbook" in manager_page and "Evaluate now" in manager_page
    filtered = manager_client.get("/admin/playbooks/?department=health&status=active",
                                  headers=EN).get_data(as_text=True)
    assert "Health one" in filtered and "Library one" not in filtered


def test_the_list_and_view_speak_words_not_codes(manager_client, catalogue):
    book = playbook(catalogue["library"], trigger="no_use", params={"days": 60},
                    conditions={"age_bands": ["65-74"], "consent_outreach": True},
                    steps=[TASK_STEP, {"kind": "wait", "offset_days": 7}])
    db.session.commit()
    # the Japanese pages: an English page's words are English words, some of them codes
    index = manager_client.get("/admin/playbooks/", headers=JA).get_data(as_text=True)
    assert_no_codes(index, "the playbook list")
    page = manager_client.get(f"/admin/playbooks/{book.id}", headers=JA).get_data(as_text=True)
    assert_no_codes(page, "the playbook page")
    page = manager_client.get(f"/admin/playbooks/{book.id}", headers=EN).get_data(as_text=True)
    assert "No use of" in page and "for 60 days" in page and "Call the resident" in page
    assert "Consents to outreach" in page and "Too few to tell" in page


def test_the_list_has_a_flat_query_count(manager_client, catalogue, count_queries):
    playbook(catalogue["library"])
    db.session.commit()
    with count_queries() as few:
        manager_client.get("/admin/playbooks/")
    for n in range(6):
        playbook(catalogue["library"], name_en=f"More {n}")
    db.session.commit()
    with count_queries() as many:
        manager_client.get("/admin/playbooks/")
    assert many.count == few.count


# -- dry run and evaluate ----------------------------------------------------------------


@dataclass
class FakeDryRun:
    opens: int = 0
    held_out: int = 0
    skipped: dict = field(default_factory=dict)
    sample: list = field(default_factory=list)
    messages: int = 0
    suppressed: dict = field(default_factory=dict)


@pytest.fixture
def fake_engine(monkeypatch):
    """The engine's ``dry_run`` and ``evaluate_job`` (written by another helper):
    replaced, so the console's pages are tested on their own."""
    calls = {"dry_run": [], "evaluate": []}
    result = FakeDryRun()

    def dry_run(book, viewer, now=None, sample_size=20):
        calls["dry_run"].append((book.id, viewer.id))
        return result

    def evaluate_job(actor_id=None):
        calls["evaluate"].append(actor_id)

    for name, attribute, value in (("portal.playbooks.evaluation", "dry_run", dry_run),
                                   ("portal.playbooks.jobs", "evaluate_job", evaluate_job)):
        try:
            module = __import__(name, fromlist=[attribute])
        except ImportError:
            module = types.ModuleType(name)
            monkeypatch.setitem(sys.modules, name, module)
            monkeypatch.setattr(sys.modules["portal.playbooks"], name.rsplit(".", 1)[1],
                                module, raising=False)
        monkeypatch.setattr(module, attribute, value, raising=False)
    return calls, result


def test_the_dry_run_shows_its_counts_and_audits_each_resident_seen(manager_client, catalogue,
                                                                    users, fake_engine):
    calls, result = fake_engine
    book = playbook(catalogue["library"], status=PlaybookStatus.PAUSED)
    seen = [factories.resident(family_name="佐藤", given_name="花子"), factories.resident()]
    db.session.commit()
    result.opens, result.held_out, result.messages = 12, 2, 7
    result.skipped = {"already_open": 3, "cooldown": 1}
    result.suppressed = {"no_consent": 2, "budget": 1, "ok": 7}
    result.sample = seen
    html = manager_client.get(f"/admin/playbooks/{book.id}/dry-run", headers=EN).get_data(
        as_text=True)
    assert calls["dry_run"] == [(book.id, users["manager"].id)]
    for text in ("Cases that would open now", "No consent to outreach",
                 "Over the contact budget", "A case is already open", "佐藤 花子",
                 f"/admin/residents/{seen[0].id}", "Activate the playbook"):
        assert text in html
    assert_no_codes(manager_client.get(f"/admin/playbooks/{book.id}/dry-run", headers=JA)
                    .get_data(as_text=True), "the dry run")
    assert len(audits("playbook.dry_run")) == 2  # the English page and the Japanese one
    assert sorted(e.target_id for e in audits("playbook.dry_run_view")) == sorted(
        str(r.id) for r in seen * 2)


def test_staff_see_the_dry_run_without_the_activate_button(staff_client, catalogue,
                                                           fake_engine):
    book = playbook(catalogue["library"], status=PlaybookStatus.PAUSED)
    db.session.commit()
    html = staff_client.get(f"/admin/playbooks/{book.id}/dry-run", headers=EN).get_data(
        as_text=True)
    assert "Cases that would open now" in html and "Activate the playbook" not in html


def test_evaluate_now_enqueues_the_job_and_is_audited(manager_client, users, fake_engine):
    calls, _ = fake_engine
    response = manager_client.post("/admin/playbooks/evaluate", headers=EN,
                                   follow_redirects=True)
    assert "has started" in response.get_data(as_text=True)
    assert calls["evaluate"] == [users["manager"].id]
    assert len(audits("playbook.evaluate")) == 1


def test_the_forms_carry_csrf(manager_client, catalogue, csrf_on):
    book = playbook(catalogue["library"], status=PlaybookStatus.ACTIVE)
    db.session.commit()
    assert manager_client.post(f"/admin/playbooks/{book.id}/status",
                               data={"status": "paused"}).status_code == 400
    assert manager_client.post("/admin/playbooks/new",
                               data=form(catalogue["library"])).status_code == 400
    assert count(Playbook) == 1


def test_staff_of_another_department_get_404_everywhere(staff_client, catalogue):
    other = playbook(catalogue["health"], service="cancer-screening")
    db.session.commit()
    for tail in ("", "/versions", "/effectiveness", "/dry-run"):
        assert staff_client.get(f"/admin/playbooks/{other.id}{tail}").status_code == 404


def test_the_dry_run_with_the_engine_lists_who_would_enter(manager_client, catalogue):
    """Against the engine's own ``dry_run`` (skipped until it is merged)."""
    pytest.importorskip("portal.playbooks.evaluation")
    from tests.playbook_factories import score

    book = playbook(catalogue["library"], status=PlaybookStatus.PAUSED)
    entering = factories.resident(family_name="山田", given_name="太郎", consent_outreach=True)
    score(entering, "library-loans", "red")
    score(factories.resident(), "library-loans", "green")
    db.session.commit()
    html = manager_client.get(f"/admin/playbooks/{book.id}/dry-run", headers=EN).get_data(
        as_text=True)
    assert "山田 太郎" in html and f"/admin/residents/{entering.id}" in html
    assert [e.target_id for e in audits("playbook.dry_run_view")] == [str(entering.id)]


class StatusForms(HTMLParser):
    """The fields each status form on a page posts, in document order (as a browser
    sends them): ``[(button text, [(name, value), ...]), ...]``."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._fields: list[tuple[str, str]] | None = None
        self._button = False

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "form" and attrs.get("action", "").endswith("/status"):
            self._fields = []
        elif tag == "input" and self._fields is not None and attrs.get("name"):
            self._fields.append((attrs["name"], attrs.get("value") or ""))
        elif tag == "button" and self._fields is not None:
            self._button = True

    def handle_data(self, data) -> None:
        if self._button and data.strip():
            self.forms.append((data.strip(), self._fields))

    def handle_endtag(self, tag) -> None:
        if tag == "button":
            self._button = False
        elif tag == "form":
            self._fields = None


def status_forms(html: str) -> dict[str, list[tuple[str, str]]]:
    parser = StatusForms()
    parser.feed(html)
    return dict(parser.forms)


def test_the_status_buttons_post_their_status_as_a_browser_sends_them(manager_client,
                                                                      catalogue, csrf_on):
    """Each button's form posts one ``status`` (the button's) with the CSRF token: a
    browser sends every input, and the first of two ``status`` fields is the one read."""
    book = playbook(catalogue["library"], status=PlaybookStatus.PAUSED)
    db.session.commit()
    html = manager_client.get(f"/admin/playbooks/{book.id}/dry-run", headers=EN).get_data(
        as_text=True)
    fields = status_forms(html)["Activate the playbook"]
    assert [name for name, _ in fields].count("status") == 1
    assert ("status", "active") in fields and "csrf_token" in dict(fields)
    response = manager_client.post(f"/admin/playbooks/{book.id}/status", data=MultiDict(fields),
                                   headers=EN, follow_redirects=True)
    assert "The playbook is active" in response.get_data(as_text=True)
    db.session.refresh(book)
    assert book.status == PlaybookStatus.ACTIVE and book.version == 2
    page = manager_client.get(f"/admin/playbooks/{book.id}", headers=EN).get_data(as_text=True)
    forms = status_forms(page)
    assert set(forms) == {"Pause", "Archive"}
    response = manager_client.post(f"/admin/playbooks/{book.id}/status",
                                   data=MultiDict(forms["Pause"]), follow_redirects=True)
    db.session.refresh(book)
    assert book.status == PlaybookStatus.PAUSED and book.version == 3
