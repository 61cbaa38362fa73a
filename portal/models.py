"""Imports every model so Alembic and ``create_all`` see the whole schema."""

from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.auth.models import Role, User
from portal.community.models import (
    Flag,
    Follow,
    Member,
    ModerationEntry,
    Notification,
    Post,
    QuestionService,
    QuestionTopic,
    Revision,
    Topic,
    Vote,
)
from portal.engagement.models import (
    EngagementScore,
    ScoreAggregate,
    ScoreRun,
    ScoreSnapshot,
    ScoringModel,
)
from portal.faq.models import FaqEntry, FaqEntryService, FaqVersion, SynonymGroup
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
from portal.search.models import SearchDocument
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
    "FaqEntry",
    "FaqEntryService",
    "FaqVersion",
    "Flag",
    "Follow",
    "Household",
    "ImportBatch",
    "Inquiry",
    "InquiryMessage",
    "InquiryPhoto",
    "Invitation",
    "LetterBatch",
    "LifeEvent",
    "Member",
    "MessageTemplate",
    "ModerationEntry",
    "Notification",
    "Open311Key",
    "OutboundMessage",
    "OutreachMessage",
    "Playbook",
    "PlaybookVersion",
    "Post",
    "Question",
    "QuestionService",
    "QuestionTopic",
    "ReplyTemplate",
    "Resident",
    "Response",
    "Revision",
    "Role",
    "ScoreAggregate",
    "ScoreRun",
    "ScoreSnapshot",
    "ScoringModel",
    "SearchDocument",
    "Service",
    "ServiceAttribute",
    "SlaPolicy",
    "Survey",
    "SurveyDraft",
    "SynonymGroup",
    "Task",
    "Topic",
    "Touchpoint",
    "UsageEvent",
    "User",
    "Vote",
]
