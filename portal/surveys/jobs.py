"""Jobs: creating a survey's invitations (started from the console) and the
reminders (daily, and from the console). Entry points commit their own work, then
ask the outbox job to send what they queued."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from portal.auth.models import User
from portal.extensions import db
from portal.mail.outbox import dispatch
from portal.surveys import invitations
from portal.surveys.models import Survey


def create_invitations(survey_id: int, criteria: dict[str, Any], user_id: int | None = None,
                       now: datetime | None = None) -> int:
    """Job entry point: invite the segment ``criteria`` (``Criteria.as_dict()``)."""
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        return 0
    actor = db.session.get(User, user_id) if user_id else None
    result = invitations.send_invitations(survey, invitations.Criteria.from_dict(criteria),
                                          actor=actor, now=now)
    db.session.commit()
    if result.invited:
        dispatch()
    return result.invited


def remind(survey_id: int, user_id: int | None = None, now: datetime | None = None) -> int:
    """Job entry point (the console's "Send reminders now"): one survey's reminders."""
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        return 0
    actor = db.session.get(User, user_id) if user_id else None
    sent = invitations.send_reminders(survey, actor=actor, now=now)
    db.session.commit()
    if sent:
        dispatch()
    return sent


def send_due_reminders(now: datetime | None = None) -> int:
    """Job entry point (daily): the reminders of every open survey, one transaction
    per survey."""
    total = 0
    for survey_id in invitations.surveys_due_for_reminders(now):
        survey = db.session.get(Survey, survey_id)
        total += invitations.send_reminders(survey, now=now)
        db.session.commit()
    if total:
        dispatch()
    return total
