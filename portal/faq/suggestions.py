"""FAQ entries suggested on the inquiry form (the hook ``portal.inquiries.suggestions``):
the entries most like what the resident typed (``portal.search.similar``), then the
entries tagged with the chosen service. Reads only."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from markupsafe import escape

from portal.extensions import db
from portal.faq import queries
from portal.i18n_fields import localized_pair
from portal.inquiries.suggestions import (
    KIND_LABELS,
    Suggestion,
    SuggestionContext,
    snippet,
    suggester,
)
from portal.search import similar

KIND_LABELS["faq"] = _l("Frequently asked")
#: at most this many FAQ entries among the suggestions
FAQ_MAX = 5


@suggester
def faq_entries(context: SuggestionContext) -> list[Suggestion]:
    # reads only: whatever the request changed is not flushed by these queries
    with db.session.no_autoflush:
        return _faq_entries(context)


def _faq_entries(context: SuggestionContext) -> list[Suggestion]:
    found: list[Suggestion] = []
    seen: set[int] = set()
    text = " ".join((context.text or "").split())
    if text:
        for hit in similar(text, context.locale, kinds=("faq",), limit=FAQ_MAX):
            if hit.kind != "faq" or hit.id in seen:
                continue
            seen.add(hit.id)
            found.append(Suggestion(kind="faq", title=hit.title, url=hit.url,
                                    snippet=hit.snippet or "",
                                    lang=hit.lang if hit.lang and hit.lang != context.locale
                                    else ""))
    if context.service is not None and len(found) < FAQ_MAX:
        entries, _total = queries.service_entries(context.service.id, limit=FAQ_MAX)
        for entry in entries:
            if entry.id in seen or len(found) >= FAQ_MAX:
                continue
            seen.add(entry.id)
            question, lang = localized_pair(entry, "question", context.locale)
            answer = getattr(entry, f"answer_{lang}")
            found.append(Suggestion(kind="faq", title=question,
                                    url=url_for("faq.entry", entry_id=entry.id),
                                    snippet=escape(snippet(answer)),
                                    lang=lang if lang != context.locale else ""))
    return found
