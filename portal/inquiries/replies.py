"""Reply templates filled in for one inquiry, in the resident's language.

Placeholders are written ``{name}``; an unknown one is left as typed (so a
template with a typo shows it to staff in the reply box, not an error), and
braces that are not a placeholder stay as they are.
"""

from __future__ import annotations

import re

from flask_babel import force_locale, format_date
from flask_babel import lazy_gettext as _l

from portal.i18n import municipality_name
from portal.i18n_fields import localized
from portal.inquiries.models import Inquiry, ReplyTemplate
from portal.inquiries.sla import due_day
from portal.residents.naming import resident_name

#: the placeholders a template may use, with what each becomes (for the editor)
PLACEHOLDERS = {
    "name": _l("the resident's name (or the caller's)"),
    "number": _l("the inquiry number"),
    "subject": _l("the inquiry's subject"),
    "service": _l("the service's name"),
    "department": _l("the department's name"),
    "due": _l("the resolution due date"),
    "city": _l("the municipality's name"),
}

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def values(inquiry: Inquiry, locale: str) -> dict[str, str]:
    with force_locale(locale):
        name = (resident_name(inquiry.resident, locale) if inquiry.resident
                else inquiry.caller_name or "")
        return {
            "name": name,
            "number": inquiry.number,
            "subject": inquiry.subject,
            "service": localized(inquiry.service, "name", locale) if inquiry.service else "",
            "department": (localized(inquiry.department, "name", locale)
                           if inquiry.department else ""),
            "due": format_date(due_day(inquiry.resolution_due_at), "long"),
            "city": municipality_name(locale),
        }


def fill(text: str, inquiry: Inquiry, locale: str) -> str:
    known = values(inquiry, locale)
    return _PLACEHOLDER.sub(lambda m: known.get(m.group(1), m.group(0)), text)


def render(template: ReplyTemplate, inquiry: Inquiry) -> str:
    """The template's body in the inquiry's language (the other language's when
    that one is empty), placeholders filled."""
    locale = inquiry.locale
    body = localized(template, "body", locale)
    return fill(body, inquiry, locale)
