"""Builders for inquiry test data (through ``portal.inquiries.operations``, so due
times and the thread are what the portal itself would store)."""

from __future__ import annotations

from datetime import datetime

from portal.inquiries.models import Inquiry, InquiryCategory, InquiryChannel
from portal.inquiries.operations import create_inquiry
from portal.residents.models import Resident
from tests.factories import service as service_named


def inquiry(*, resident: Resident | None = None, service: str | None = "library-loans",
            category: str = InquiryCategory.QUESTION, channel: str = InquiryChannel.WEB,
            subject: str = "貸出期間について", description: str = "延長できますか。",
            received_at: datetime | None = None, **values) -> Inquiry:
    """A new inquiry; ``service`` is a slug (None: "I don't know")."""
    return create_inquiry(category=category, channel=channel, subject=subject,
                          description=description, resident=resident,
                          service=service_named(service) if service else None,
                          received_at=received_at, **values)
