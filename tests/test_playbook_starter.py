"""``portal seed``: the eight starter playbooks and their templates, paused, valid,
in both languages, once."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.extensions import db
from portal.outreach.models import MessageTemplate
from portal.playbooks import definition, starter
from portal.playbooks.models import Playbook, PlaybookStatus, PlaybookVersion

KNOWN = {"name", "service", "city", "link", "date", "department"}
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_installs_eight_paused_valid_playbooks(runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "starter playbooks added (paused): 8" in result.output
    playbooks = db.session.scalars(select(Playbook).order_by(Playbook.id)).all()
    assert [p.key for p in playbooks] == list(starter.PLAYBOOKS)
    for playbook in playbooks:
        assert playbook.status == PlaybookStatus.PAUSED
        assert playbook.version == 1 and playbook.holdout_percent == 10
        assert playbook.name_ja and playbook.name_en and playbook.name_ja != playbook.name_en
        assert playbook.description_ja and playbook.description_en
        snapshot = playbook.snapshot()
        assert definition.problems(snapshot) == [], playbook.key
        versions = db.session.scalars(select(PlaybookVersion).where(
            PlaybookVersion.playbook_id == playbook.id)).all()
        assert [(v.version, v.snapshot["steps"]) for v in versions] == [(1, playbook.steps)]
        if definition.TRIGGERS[playbook.trigger].needs_service:
            assert playbook.service_id is not None
    by_key = {p.key: p for p in playbooks}
    assert by_key["welcome"].trigger_params == {"days": 30}
    assert by_key["library-lapsed"].trigger_params == {"intervals": 3}
    assert by_key["new-parent"].trigger_params == {"event": "child_born", "days": 60}
    escalation = by_key["inquiry-overdue-escalation"].steps[0]
    assert escalation["assignee"] == "role" and escalation["role"] == "manager"
    detractor = by_key["detractor-follow-up"].steps[0]
    assert detractor["assignee"] == "queue" and detractor["due_days"] == 3


def test_templates_in_both_languages_with_known_placeholders_only(runner):
    runner.invoke(args=["seed"])
    templates = db.session.scalars(select(MessageTemplate)).all()
    assert {t.key for t in templates} == set(starter.TEMPLATES)
    used = {step["template_id"] for p in db.session.scalars(select(Playbook))
            for step in p.steps if step["kind"] == "message"}
    assert used == {t.id for t in templates}
    for template in templates:
        for lang in ("ja", "en"):
            subject, body = getattr(template, f"subject_{lang}"), getattr(template, f"body_{lang}")
            assert subject and body and getattr(template, f"name_{lang}")
            assert set(PLACEHOLDER.findall(subject + body)) <= KNOWN, template.key
            assert "{name}" in body
        # the honorific comes with {name}: never written after it
        assert "{name}様" not in template.body_ja and "{name} 様" not in template.body_ja
        assert re.search(r"[ぁ-んァ-ヶ一-龠]", template.body_ja)


def test_seeding_twice_adds_nothing_and_keeps_staff_edits(runner):
    runner.invoke(args=["seed"])
    playbook = db.session.scalar(select(Playbook).where(Playbook.key == "library-lapsed"))
    playbook.name_en = "Edited by staff"
    db.session.commit()
    again = runner.invoke(args=["seed"])
    assert again.exit_code == 0, again.output
    assert "starter playbooks added (paused): 0 with 0 message templates" in again.output
    assert count(Playbook) == 8 and count(MessageTemplate) == len(starter.TEMPLATES)
    assert count(PlaybookVersion) == 8
    assert db.session.get(Playbook, playbook.id).name_en == "Edited by staff"
