"""Words for the stored codes of community moderation (no raw code on a page):
flag reasons, moderation actions and post states."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from portal.community.models import FlagReason, ModerationAction, PostKind, PostStatus

FLAG_REASON_LABELS = {
    FlagReason.SPAM: _l("Spam or advertising"),
    FlagReason.OFFENSIVE: _l("Offensive or abusive"),
    FlagReason.PERSONAL_DATA: _l("Shows personal data"),
    FlagReason.OFF_TOPIC: _l("Off-topic"),
}

MODERATION_ACTION_LABELS = {
    ModerationAction.APPROVE: lazy_pgettext("moderation action", "Approved"),
    ModerationAction.RESTORE: lazy_pgettext("moderation action", "Restored"),
    ModerationAction.HIDE: lazy_pgettext("moderation action", "Hidden"),
    ModerationAction.DELETE: lazy_pgettext("moderation action", "Deleted"),
    ModerationAction.SILENCE: lazy_pgettext("moderation action", "Silenced"),
    ModerationAction.UNSILENCE: lazy_pgettext("moderation action", "Silence lifted"),
}

#: a post's state, as staff and the author read it
POST_STATUS_LABELS = {
    PostStatus.PENDING: lazy_pgettext("community post status", "Waiting for review"),
    PostStatus.PUBLISHED: lazy_pgettext("community post status", "Public"),
    PostStatus.HIDDEN: lazy_pgettext("community post status", "Hidden"),
    PostStatus.DELETED: lazy_pgettext("community post status", "Deleted"),
}

POST_KIND_LABELS = {
    PostKind.QUESTION: lazy_pgettext("community post kind", "Question"),
    PostKind.ANSWER: lazy_pgettext("community post kind", "Answer"),
}
