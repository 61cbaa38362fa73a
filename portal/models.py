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
from portal.residents.models import District, Household, Resident
from portal.services.models import Department, Service, UsageEvent
from portal.surveys.models import Answer, Invitation, Question, Response, Survey, SurveyDraft

__all__ = [
    "Answer",
    "ApiToken",
    "AuditEntry",
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
    "Open311Key",
    "OutboundMessage",
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
    "UsageEvent",
    "User",
]
