"""Builders for playbook test data: playbooks straight into the table (checked by
``definition.problems`` first, so a test never builds one the console would refuse),
message templates, hand-made scores."""

from __future__ import annotations

from datetime import date
from typing import Any

from portal.engagement.models import EngagementScore
from portal.extensions import db
from portal.outreach.models import MessageTemplate
from portal.playbooks.definition import problems
from portal.playbooks.models import Playbook, PlaybookStatus, PlaybookVersion
from portal.residents.models import Resident
from portal.services.models import Department
from tests import factories

TASK_STEP = {"kind": "task", "offset_days": 0, "title_ja": "電話で様子を伺う",
             "title_en": "Call the resident", "assignee": "queue", "due_days": 3}


def template(department: Department, **values) -> MessageTemplate:
    values.setdefault("name_ja", "ご案内")
    values.setdefault("name_en", "A note from the city")
    values.setdefault("subject_ja", "{service}のご案内")
    values.setdefault("subject_en", "About {service}")
    values.setdefault("body_ja", "{name}\n\n{service}をご利用ください。\n{link}\n\n{city}")
    values.setdefault("body_en", "Dear {name},\n\nPlease try {service}.\n{link}\n\n{city}")
    item = MessageTemplate(department_id=department.id, **values)
    db.session.add(item)
    db.session.flush()
    return item


def playbook(department: Department, *, service: str | None = "library-loans",
             trigger: str = "band", params: dict[str, Any] | None = None,
             conditions: dict[str, Any] | None = None, steps: list[dict] | None = None,
             status: str = PlaybookStatus.ACTIVE, holdout_percent: int = 0,
             cooldown_days: int = 90, auto_close: bool = True, **values) -> Playbook:
    """An active playbook (holdout 0 % unless asked, so tests know who is contacted);
    ``service`` is a slug."""
    target = factories.service(service) if service else None
    data = {"name_ja": values.pop("name_ja", "テスト"), "name_en": values.pop("name_en", "Test"),
            "description_ja": "", "description_en": "", "department_id": department.id,
            "service_id": target.id if target else None, "trigger": trigger,
            "trigger_params": params if params is not None else {"band": "red"},
            "conditions": conditions or {}, "steps": steps if steps is not None else [TASK_STEP],
            "cooldown_days": cooldown_days, "holdout_percent": holdout_percent,
            "auto_close": auto_close, "status": status}
    found = problems(data)
    assert not found, found
    item = Playbook(**data, **values)
    db.session.add(item)
    db.session.flush()
    db.session.add(PlaybookVersion(playbook_id=item.id, version=item.version,
                                   snapshot=item.snapshot(), summary="created"))
    db.session.flush()
    return item


def score(resident: Resident, slug: str, band: str = "red", *, value: float | None = None,
          **values) -> EngagementScore:
    """A current score of ``resident`` for the service ``slug``."""
    values.setdefault("window_days", 90)
    values.setdefault("interval_days", 30)
    values.setdefault("trend", "same")
    item = EngagementScore(
        service_id=factories.service(slug).id, resident_id=resident.id, as_of=date.today(),
        model_id=1, score=value if value is not None else {"red": 30, "yellow": 60,
                                                           "green": 90}[band],
        band=band, **values)
    db.session.add(item)
    db.session.flush()
    return item
