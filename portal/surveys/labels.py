"""Survey codes in the reader's language: question types, response channels and
the words at the ends of each scale (no stored code reaches a page). The one
catalogue the builder, the answering pages, the results and the exports share."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.surveys.models import QuestionType, ResponseChannel

TYPE_LABELS = {
    QuestionType.CSAT: _l("Satisfaction (CSAT, 1–5)"),
    QuestionType.NPS: _l("Recommendation (NPS, 0–10)"),
    QuestionType.CES: _l("Ease (CES, 1–7)"),
    QuestionType.RATING: _l("Rating (1–N)"),
    QuestionType.SINGLE: _l("Single choice"),
    QuestionType.MULTIPLE: _l("Multiple choice"),
    QuestionType.YES_NO: _l("Yes / no"),
    QuestionType.SHORT_TEXT: _l("Short text"),
    QuestionType.LONG_TEXT: _l("Long text"),
}

CHANNEL_LABELS = {
    ResponseChannel.WEB: _l("Online, signed in"),
    ResponseChannel.EMAIL: _l("Invitation link (e-mail)"),
    ResponseChannel.PAPER: _l("Paper form"),
    ResponseChannel.PHONE: _l("By phone"),
    ResponseChannel.COUNTER: _l("At the counter"),
    ResponseChannel.KIOSK: _l("Kiosk"),
}

# the channels staff enter a response for (the web and e-mail ones answer themselves)
STAFF_CHANNELS = (ResponseChannel.PAPER, ResponseChannel.PHONE, ResponseChannel.COUNTER,
                  ResponseChannel.KIOSK)

# the visible words at the low and high end of each scale
SCALE_ENDS = {
    QuestionType.CSAT: (_l("Very dissatisfied"), _l("Very satisfied")),
    QuestionType.NPS: (_l("Not at all likely"), _l("Extremely likely")),
    QuestionType.CES: (_l("Very difficult"), _l("Very easy")),
    QuestionType.RATING: (_l("Lowest"), _l("Highest")),
}


def channel_label(code: str | None) -> str:
    label = CHANNEL_LABELS.get(code) if code else None
    return str(label) if label is not None else str(_l("Other channel"))
