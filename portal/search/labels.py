"""What the search page calls the kinds of result."""

from flask_babel import lazy_gettext as _l

RESULT_KINDS = {
    "question": _l("Question"),
    "answer": _l("Answer"),
    "faq": _l("FAQ"),
}
