"""The placeholders of message templates: a small, safe language.

A placeholder is a name in braces — ``{name}``, ``{service}``, ``{city}``, ``{link}``,
``{date}``, ``{department}`` — and nothing else: no expressions, no attributes, no
filters. Rendering looks each name up in a fixed table of plain-text values (e-mail
bodies and letters are text, not HTML) and evaluates nothing else; a brace that is
not part of a known placeholder is an error when the template is saved
(``unknown``), so a saved template has none. Should one reach ``render`` anyway
(a template written before a placeholder was withdrawn), it is left as typed.

``{name}``
    The resident's name in the form their language uses, with its honorific, as
    every resident e-mail of the portal addresses people
    (``portal.residents.naming``): 「山田 花子 様」 in Japanese; "Hanako Yamada" in
    English, where the template writes "Dear {name},".
``{service}``, ``{department}``
    The service's name and its department's (or the template's department), in the
    message's language.
``{city}``
    The municipality's name in the message's language (``MUNICIPALITY_NAME_<LOCALE>``).
``{link}``
    The absolute address of the service's page on ``PORTAL_BASE_URL`` (the catalogue
    without a service), built without a request as survey links are.
``{date}``
    A date the step gives (e.g. an appointment), in the locale's long form
    (2026年12月4日, December 4, 2026); empty without one.
"""

from __future__ import annotations

from datetime import date as Date
from typing import TYPE_CHECKING

from flask_babel import force_locale, format_date
from flask_babel import lazy_gettext as _l

from portal.i18n import municipality_name
from portal.i18n_fields import localized
from portal.residents.naming import addressed, resident_name
from portal.security import absolute_url

if TYPE_CHECKING:
    from portal.residents.models import Resident
    from portal.services.models import Department, Service

#: the placeholders, with what each becomes (for the editor)
PLACEHOLDERS = {
    "name": _l("the resident's name with the honorific of the language (様 in Japanese)"),
    "service": _l("the service's name"),
    "city": _l("the municipality's name"),
    "link": _l("the address of the service's page"),
    "date": _l("the date the playbook step gives"),
    "department": _l("the department's name"),
}

#: how much of the text after an unbalanced brace an error shows
_SHOWN = 12


def _tokens(text: str):
    """``(kind, value, start, end)`` for every brace construct of ``text``: kind
    ``"name"`` (a ``{…}`` pair, value the inside) or ``"open"`` / ``"close"`` (a
    brace without its partner, value the fragment as written)."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{":
            close = text.find("}", i + 1)
            reopen = text.find("{", i + 1)
            if close == -1 or (reopen != -1 and reopen < close):
                end = reopen if reopen != -1 else n
                fragment = text[i:min(end, i + _SHOWN)].split("\n", 1)[0].rstrip()
                yield "open", fragment, i, i + 1
                i += 1
                continue
            yield "name", text[i + 1:close], i, close + 1
            i = close + 1
        elif ch == "}":
            yield "close", "}", i, i + 1
            i += 1
        else:
            i += 1


def unknown(text: str | None) -> list[str]:
    """The placeholders of ``text`` that are not known, as written (``{nmae}``), and
    unbalanced braces (``{name`` , ``}``), in order, each once."""
    found: list[str] = []
    for kind, value, _start, _end in _tokens(text or ""):
        shown = value if kind != "name" else "{" + value + "}"
        if (kind != "name" or value not in PLACEHOLDERS) and shown not in found:
            found.append(shown)
    return found


def values(resident: Resident | None, *, locale: str, service: Service | None = None,
           date: Date | None = None, department: Department | None = None) -> dict[str, str]:
    """The plain-text value of every placeholder for one message."""
    return shared_values(locale=locale, service=service, date=date, department=department) | {
        "name": name_value(resident, locale)}


def name_value(resident: Resident | None, locale: str) -> str:
    """``{name}``: the resident's name with the form of address of ``locale``."""
    with force_locale(locale):
        name = resident_name(resident, locale) if resident is not None else ""
        return addressed(name, locale) if name else ""


def shared_values(*, locale: str, service: Service | None = None, date: Date | None = None,
                  department: Department | None = None) -> dict[str, str]:
    """Every placeholder but ``{name}``: the same for all the messages of one step in
    one language (a batch computes them once)."""
    department = department or (service.department if service is not None else None)
    with force_locale(locale):
        return {
            "service": localized(service, "name", locale) if service is not None else "",
            "city": municipality_name(locale),
            "link": (absolute_url("services.service", slug=service.slug)
                     if service is not None else absolute_url("services.catalogue")),
            "date": format_date(date, "long") if date is not None else "",
            "department": localized(department, "name", locale) if department is not None
            else "",
        }


def fill(text: str | None, known: dict[str, str]) -> str:
    """``text`` with each known placeholder replaced by its value; anything else as
    typed. Nothing is evaluated."""
    text = text or ""
    out, last = [], 0
    for kind, value, start, end in _tokens(text):
        if kind == "name" and value in known:
            out.append(text[last:start])
            out.append(known[value])
            last = end
    out.append(text[last:])
    return "".join(out)


def render(text: str | None, resident: Resident | None, *, locale: str,
           service: Service | None = None, date: Date | None = None,
           department: Department | None = None) -> str:
    """``text`` rendered for ``resident`` in ``locale`` (plain text)."""
    return fill(text, values(resident, locale=locale, service=service, date=date,
                             department=department))
