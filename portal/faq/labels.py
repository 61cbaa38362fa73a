"""Words for the FAQ's stored codes and fields (no raw code on a page)."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from portal.faq.models import EntryStatus

STATUS_LABELS = {
    EntryStatus.PUBLISHED: lazy_pgettext("faq entry status", "Published"),
    EntryStatus.ARCHIVED: lazy_pgettext("faq entry status", "Archived"),
}

#: an entry's review state (``portal.faq.review.review_state``)
REVIEW_STATE_LABELS = {
    "current": _l("Up to date"),
    "due": _l("Due for review"),
    "being_reviewed": _l("Being reviewed"),
}

#: the console list's "review" filter
REVIEW_FILTER_LABELS = {
    "": _l("All published entries"),
    "due": _l("Due for review (review date reached)"),
    "being_reviewed": _l("Being reviewed (past the grace period)"),
    "archived": _l("Archived"),
}

#: the fields of a version, in the order the comparison shows them
FIELD_LABELS = {
    "question_ja": _l("Question (Japanese)"),
    "answer_ja": _l("Answer (Japanese)"),
    "draft_ja": _l("Japanese is a draft"),
    "question_en": _l("Question (English)"),
    "answer_en": _l("Answer (English)"),
    "draft_en": _l("English is a draft"),
    "department_id": _l("Owner department"),
    "service_ids": _l("Services"),
    "review_on": _l("Review date"),
    "status": _l("Status"),
    "source_post_id": _l("Promoted from"),
}

#: what a version was made by (the audit action that saved it)
VERSION_ACTION_LABELS = {
    "faq.create": _l("Written"),
    "faq.promote": _l("Promoted from the community"),
    "faq.update": _l("Changed"),
    "faq.review": _l("Reviewed"),
    "faq.archive": _l("Archived"),
    "faq.restore": _l("Restored"),
}
