"""Imports every model so Alembic and ``create_all`` see the whole schema."""

from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.auth.models import Role, User
from portal.engagement.models import (
    EngagementScore,
    ScoreAggregate,
    ScoreRun,
    ScoreSnapshot,
    ScoringModel,
)
from portal.imports.models import ImportBatch
from portal.inquiries.models import (
    ClosureDay,
    Inquiry,
    InquiryMessage,
    InquiryPhoto,
    Open311Key,
    ReplyTemplate,
    ServiceAttribute,
    SlaPolicy,
)
from portal.mail.models import OutboundMessage
from portal.outreach.models import (
    LetterBatch,
    MessageTemplate,
    OutreachMessage,
    Touchpoint,
)
from portal.playbooks.models import Case, CaseNote, Playbook, PlaybookVersion
from portal.residents.models import District, Household, LifeEvent, Resident
from portal.services.models import Department, Service, UsageEvent
from portal.surveys.models import Answer, Invitation, Question, Response, Survey, SurveyDraft
from portal.work.models import Task

__all__ = [
    "Answer",
    "ApiToken",
    "AuditEntry",
    "Case",
    "CaseNote",
    "ClosureDay",
    "Department",
    "District",
    "EngagementScore",
    "Household",
    "ImportBatch",
    "Inquiry",
    "InquiryMessage",
    "InquiryPhoto",
    "Invitation",
    "LetterBatch",
    "LifeEvent",
    "MessageTemplate",
    "Open311Key",
    "OutboundMessage",
    "OutreachMessage",
    "Playbook",
    "PlaybookVersion",
    "Question",
    "ReplyTemplate",
    "Resident",
    "Response",
    "Role",
    "ScoreAggregate",
    "ScoreRun",
    "ScoreSnapshot",
    "ScoringModel",
    "Service",
    "ServiceAttribute",
    "SlaPolicy",
    "Survey",
    "SurveyDraft",
    "Task",
    "Touchpoint",
    "UsageEvent",
    "User",
]
