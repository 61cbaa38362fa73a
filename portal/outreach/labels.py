"""Words for the stored codes of outreach (no raw code on a page)."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from portal.outreach.models import MessageChannel, MessageStatus, SuppressionReason

CHANNEL_LABELS = {
    MessageChannel.EMAIL: _l("E-mail"),
    MessageChannel.LETTER: _l("Letter"),
}

MESSAGE_STATUS_LABELS = {
    MessageStatus.QUEUED: lazy_pgettext("outreach message", "Waiting to be sent"),
    MessageStatus.SENT: lazy_pgettext("outreach message", "Sent"),
    MessageStatus.SUPPRESSED: lazy_pgettext("outreach message", "Not sent"),
}

SUPPRESSION_LABELS = {
    SuppressionReason.NO_CONSENT: _l("No consent to outreach"),
    SuppressionReason.DO_NOT_CONTACT: _l("Do not contact"),
    SuppressionReason.NO_ADDRESS: _l("No address for the channel"),
    SuppressionReason.BUDGET: _l("Over the contact budget"),
    SuppressionReason.HELD_OUT: _l("Held out (no outreach)"),
    SuppressionReason.ANONYMISED: _l("Personal data erased"),
    SuppressionReason.ALREADY_INVITED: _l("Already invited to this survey"),
    SuppressionReason.SURVEY_CLOSED: _l("The survey is not open for invitations"),
}

TOUCHPOINT_ACTION_LABELS = {
    "task_done": _l("Task completed"),
    "case_closed": _l("Case closed"),
    "case_started": _l("Case started by staff"),
    "reassigned": _l("Task reassigned"),
    "snoozed": _l("Task snoozed"),
    "due_changed": _l("Task due date changed"),
    "case_note": _l("Note added to the case"),
}

#: how staff reached the resident (a usage channel: channel parity)
TOUCHPOINT_CHANNELS = ("phone", "outreach", "counter", "mail", "online")
