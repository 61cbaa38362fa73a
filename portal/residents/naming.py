"""How a resident is named and addressed in a given language.

A resident's record holds the name as registered (kanji or kana for most) and,
for many, a name in Latin letters. Pages and e-mails in Japanese (or Chinese)
use the registered name; pages in a language written in Latin letters use the
Latin name when there is one. The honorific (様 in Japanese) comes from the
catalogue, so each language addresses people its own way.
"""

from __future__ import annotations

from flask_babel import force_locale, pgettext
from sqlalchemy import select

from portal.auth.models import Role, User
from portal.extensions import db
from portal.residents.models import Resident

#: Languages whose readers read a name in kanji as registered.
REGISTERED_SCRIPT_LANGUAGES = frozenset({"ja", "zh"})


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_", 1)[0].lower()


def resident_name(resident: Resident, locale: str) -> str:
    """The resident's name in the form that suits ``locale`` (empty when none)."""
    registered = " ".join(n for n in (resident.family_name, resident.given_name) if n)
    latin = (resident.name_latin or "").strip()
    if _language(locale) in REGISTERED_SCRIPT_LANGUAGES:
        return registered or latin
    return latin or registered


NOT_LOADED = object()


def user_name(user: User, locale: str, resident: Resident | None = None) -> str:
    """A signed-in person's name for ``locale``: residents by their record's name
    form, staff by the account's display name."""
    if user.role == Role.RESIDENT:
        if resident is None:
            # the user loader looks the record up with the user (None: there is none)
            resident = getattr(user, "own_resident", NOT_LOADED)
        if resident is NOT_LOADED:
            resident = db.session.scalar(select(Resident).where(Resident.user_id == user.id))
        if resident is not None:
            return resident_name(resident, locale) or user.display_name
    return user.display_name


def addressed(name: str, locale: str | None = None) -> str:
    """``name`` with the honorific of the language (「山田 花子 様」, "Hanako Yamada")."""
    if locale is None:
        return pgettext("addressing a resident", "%(name)s", name=name)
    with force_locale(locale):
        return pgettext("addressing a resident", "%(name)s", name=name)
