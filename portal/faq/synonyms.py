"""The search's synonym list, kept by staff (``SynonymGroup``: one term per line).

A group needs at least two distinct terms, each at most ``TERM_MAX`` characters,
and a term belongs to one group only (compared case-insensitively, with
full-width letters folded) — otherwise a query would expand differently depending
on which group was read first. Every change is audited (``search.synonyms_update``)."""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _
from sqlalchemy import select

from portal.audit.recording import record
from portal.auth.models import User
from portal.extensions import db
from portal.faq.models import SynonymGroup
from portal.faq.operations import NOTE_MAX, FaqError

TERM_MAX = 60
TERMS_MAX = 50


def fold(term: str) -> str:
    return unicodedata.normalize("NFKC", term).casefold().strip()


def clean_terms(text: str, *, group: SynonymGroup | None = None) -> list[str]:
    """The distinct terms of ``text`` in their order, or FaqError."""
    terms: list[str] = []
    seen: set[str] = set()
    for line in (text or "").splitlines():
        term = " ".join(line.split())
        if not term:
            continue
        if len(term) > TERM_MAX:
            raise FaqError(_("“%(term)s” is too long: a term can be at most %(n)d "
                             "characters.", term=term[:TERM_MAX] + "…", n=TERM_MAX))
        if fold(term) not in seen:
            seen.add(fold(term))
            terms.append(term)
    if len(terms) < 2:
        raise FaqError(_("Write at least two different terms, one per line."))
    if len(terms) > TERMS_MAX:
        raise FaqError(_("A group can have at most %(n)d terms.", n=TERMS_MAX))
    others = db.session.scalars(select(SynonymGroup).where(
        SynonymGroup.id != (group.id if group is not None and group.id else 0))).all()
    for other in others:
        taken = {fold(t): t for t in other.term_list}
        clash = [term for term in terms if fold(term) in taken]
        if clash:
            raise FaqError(_("“%(term)s” is already in another group (%(group)s): a term can "
                             "be in one group only. Add the terms to that group instead.",
                             term=clash[0], group=" / ".join(other.term_list[:3])))
    return terms


def _note(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > NOTE_MAX:
        raise FaqError(_("A note can be at most %(n)d characters.", n=NOTE_MAX))
    return text


def create_group(text: str, *, actor: User, note: str = "") -> SynonymGroup:
    terms = clean_terms(text)
    group = SynonymGroup(terms="\n".join(terms), note=_note(note), updated_by_id=actor.id)
    db.session.add(group)
    db.session.flush()
    record("search.synonyms_update", actor=actor, target=group,
           summary=f"Added synonym group {group.id}", data={"terms": terms})
    return group


def update_group(group: SynonymGroup, text: str, *, actor: User, note: str = "") -> SynonymGroup:
    terms = clean_terms(text, group=group)
    note = _note(note)
    if terms == group.term_list and note == group.note:
        raise FaqError(_("Nothing changed."))
    before = group.term_list
    group.terms = "\n".join(terms)
    group.note = note
    group.updated_by_id = actor.id
    db.session.flush()
    record("search.synonyms_update", actor=actor, target=group,
           summary=f"Changed synonym group {group.id}", data={"from": before, "terms": terms})
    return group


def delete_group(group: SynonymGroup, *, actor: User) -> None:
    record("search.synonyms_update", actor=actor, target=group,
           summary=f"Deleted synonym group {group.id}", data={"deleted": group.term_list})
    db.session.delete(group)
    db.session.flush()
