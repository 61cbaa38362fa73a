"""Answers a resident may find before sending an inquiry (a hook).

``suggest(resident, service, text, locale)`` asks every function in ``SUGGESTERS``
in turn and returns what they found, in that order. A suggester takes one
``SuggestionContext`` (the resident — None while the account has no record —, the
chosen service — None for "I don't know" —, the subject and description typed so
far, and the page's locale) and returns a list of ``Suggestion``. It runs inside the
request, reads only, and must not write.

Two are built in: the resident's own inquiries about the same service that are
still being worked on (so they add to them instead of asking again), and the chosen
service's own help (how to use it, and whom to contact).

Adding more (the community issue's FAQ entries and Q&A answers) is one function::

    from portal.inquiries.suggestions import Suggestion, suggester, KIND_LABELS

    KIND_LABELS["faq"] = _l("Frequently asked")

    @suggester
    def faq_entries(context):
        return [Suggestion(kind="faq", title=entry.question, url=url_for(...),
                           snippet=entry.answer[:300], lang=entry.lang)
                for entry in matching_faq(context.service, context.text, context.locale)]

Register it at import time of the module that defines it (and make sure the app
imports that module, as ``portal/app.py`` does for route modules). ``kind`` is a
short code; ``KIND_LABELS`` gives the word shown for it on the page (a kind without
a label is shown without one). ``lang`` is the language the title and snippet are
written in (set when it is not the page's, for ``lang=``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.i18n_fields import localized_pair
from portal.inquiries.labels import STATUS_LABELS
from portal.inquiries.models import Inquiry, InquiryStatus
from portal.residents.models import Resident
from portal.services.models import Service

SNIPPET_MAX = 300
OWN_INQUIRIES_MAX = 5


@dataclass(frozen=True)
class Suggestion:
    kind: str
    title: str
    url: str
    snippet: str = ""
    lang: str = ""


@dataclass(frozen=True)
class SuggestionContext:
    resident: Resident | None
    service: Service | None
    text: str
    locale: str


Suggester = Callable[[SuggestionContext], list[Suggestion]]

#: every suggester, asked in this order
SUGGESTERS: list[Suggester] = []

#: the word shown with a suggestion of each kind
KIND_LABELS = {
    "own_inquiry": _l("Your inquiry"),
    "service_help": _l("Service help"),
    "service_contact": _l("Contact"),
}


def suggester(func: Suggester) -> Suggester:
    """Register ``func`` (as a decorator)."""
    SUGGESTERS.append(func)
    return func


def suggest(resident: Resident | None, service: Service | None, text: str,
            locale: str) -> list[Suggestion]:
    context = SuggestionContext(resident=resident, service=service, text=text or "",
                                locale=locale)
    found: list[Suggestion] = []
    for func in SUGGESTERS:
        found.extend(func(context))
    return found


def snippet(text: str, limit: int = SNIPPET_MAX) -> str:
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    return text[:limit - 1].rstrip() + "…"


@suggester
def own_open_inquiries(context: SuggestionContext) -> list[Suggestion]:
    """The resident's inquiries about the same service still being worked on."""
    if context.resident is None or context.service is None:
        return []
    rows = db.session.scalars(
        select(Inquiry).where(Inquiry.resident_id == context.resident.id,
                              Inquiry.service_id == context.service.id,
                              Inquiry.status.in_(InquiryStatus.pending()))
        .order_by(Inquiry.created_at.desc(), Inquiry.id.desc()).limit(OWN_INQUIRIES_MAX)).all()
    return [Suggestion(kind="own_inquiry",
                       title=_("No. %(n)s: %(subject)s", n=row.number, subject=row.subject),
                       url=url_for("inquiries.detail", inquiry_id=row.id),
                       snippet=_("%(status)s. You can add to this inquiry instead of "
                                 "sending a new one.", status=STATUS_LABELS[row.status]))
            for row in rows]


@suggester
def service_help(context: SuggestionContext) -> list[Suggestion]:
    """The service page's help: how to use it (or what it is), and whom to contact."""
    service = context.service
    if service is None:
        return []
    url = url_for("services.service", slug=service.slug)
    name = localized_pair(service, "name", context.locale)[0]
    found = []
    for field in ("how_to_use", "description", "summary"):
        text, lang = localized_pair(service, field, context.locale)
        if text:
            found.append(Suggestion(kind="service_help",
                                    title=_("How to use “%(service)s”", service=name),
                                    url=url, snippet=snippet(text),
                                    lang=lang if lang != context.locale else ""))
            break
    contact = []
    hours, hours_lang = localized_pair(service, "opening_hours", context.locale)
    if service.contact_phone:
        contact.append(_("Phone: %(phone)s", phone=service.contact_phone))
    if service.contact_email:
        contact.append(_("E-mail: %(email)s", email=service.contact_email))
    if hours:
        contact.append(_("Opening hours: %(hours)s", hours=hours))
    if contact:
        found.append(Suggestion(kind="service_contact",
                                title=_("Contact “%(service)s” directly", service=name),
                                url=url, snippet=" · ".join(contact),
                                lang=hours_lang if hours and hours_lang != context.locale
                                else ""))
    return found
