"""Words for the stored codes of inquiries (no raw code on a page)."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from portal.inquiries.models import InquiryCategory, InquiryChannel, InquiryStatus
from portal.inquiries.sla import SlaState

# with a context: "Open" and "Closed" are also a survey's states (公開中, 締切)
STATUS_LABELS = {
    # "Open" and "Closed" of surveys mean something else (accepting answers, ended)
    InquiryStatus.NEW: lazy_pgettext("inquiry status", "New"),
    InquiryStatus.OPEN: lazy_pgettext("inquiry status", "Open"),
    InquiryStatus.WAITING: lazy_pgettext("inquiry status", "Waiting for resident"),
    InquiryStatus.RESOLVED: lazy_pgettext("inquiry status", "Resolved"),
    InquiryStatus.CLOSED: lazy_pgettext("inquiry status", "Closed"),
}

#: the same, as the resident reads them about their own inquiry
RESIDENT_STATUS_LABELS = {
    **STATUS_LABELS,
    InquiryStatus.WAITING: lazy_pgettext("inquiry status, to the resident",
                                         "Waiting for your reply"),
}

CATEGORY_LABELS = {
    InquiryCategory.QUESTION: _l("Question"),
    InquiryCategory.REQUEST: _l("Request"),
    InquiryCategory.COMPLAINT: _l("Complaint"),
    InquiryCategory.PROBLEM: _l("Report a problem"),
}

CHANNEL_LABELS = {
    InquiryChannel.WEB: _l("Web"),
    InquiryChannel.PHONE: _l("Phone"),
    InquiryChannel.COUNTER: _l("Counter"),
    InquiryChannel.LETTER: _l("Letter"),
    InquiryChannel.EMAIL: _l("E-mail"),
    InquiryChannel.OPEN311: _l("Open311 app"),
}

SLA_LABELS = {
    SlaState.ON_TIME: _l("On time"),
    SlaState.DUE_TODAY: _l("Due today"),
    SlaState.OVERDUE: _l("Overdue"),
    SlaState.NONE: _l("Nothing due"),
}
