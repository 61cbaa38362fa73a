"""Words for the stored codes of playbooks and cases (no raw code on a page).
The triggers, conditions and steps have theirs in ``definition``."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from portal.playbooks.definition import ASSIGNEES, CONDITIONS, STEP_KINDS, TRIGGERS
from portal.playbooks.models import CaseStatus, Outcome, PlaybookStatus

# "Active" and "Paused" with a context: other pages use the words for other things
STATUS_LABELS = {
    PlaybookStatus.ACTIVE: lazy_pgettext("playbook status", "Active"),
    PlaybookStatus.PAUSED: lazy_pgettext("playbook status", "Paused"),
    PlaybookStatus.ARCHIVED: lazy_pgettext("playbook status", "Archived"),
}

CASE_STATUS_LABELS = {
    CaseStatus.OPEN: lazy_pgettext("case status", "Open"),
    CaseStatus.CLOSED: lazy_pgettext("case status", "Closed"),
}

OUTCOME_LABELS = {
    Outcome.REACHED: _l("Reached"),
    Outcome.RESOLVED: lazy_pgettext("case outcome", "Resolved"),
    Outcome.UNREACHABLE: _l("Unreachable"),
    Outcome.DECLINED: _l("Declined"),
    Outcome.REFERRED: _l("Referred to another department"),
    Outcome.RECOVERED: _l("Recovered by itself"),
    Outcome.EXPIRED: _l("Ended without an outcome"),
}

TRIGGER_LABELS = {code: trigger.label for code, trigger in TRIGGERS.items()}
CONDITION_LABELS = CONDITIONS
STEP_LABELS = STEP_KINDS
ASSIGNEE_LABELS = ASSIGNEES

BAND_LABELS_NOTE = "the bands' words are portal.engagement's BAND_LABELS"

LIFE_EVENT_LABELS = {
    "moved_in": _l("Moved in"),
    "child_born": _l("Child born"),
    "turned_65": _l("Turned 65"),
}

#: a case's place in its life, as the case list shows it
HELD_OUT_LABEL = _l("Held out (no outreach)")
