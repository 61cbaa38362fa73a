"""Words for the community's stored codes (no raw code on a page)."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from portal.community.models import PostStatus

SORT_LABELS = {
    "newest": lazy_pgettext("community list", "Newest"),
    "unanswered": lazy_pgettext("community list", "Unanswered"),
    "votes": lazy_pgettext("community list", "Most voted"),
}

#: what the author reads on their own post that the public does not see
STATUS_NOTICES = {
    PostStatus.PENDING: _l("Your post is waiting for review. It becomes public once a "
                           "moderator has looked at it."),
    PostStatus.HIDDEN: _l("Your post is hidden from the public."),
    PostStatus.DELETED: _l("Your post has been deleted and is not shown to others."),
}

STATUS_LABELS = {
    PostStatus.PENDING: lazy_pgettext("community post status", "Waiting for review"),
    PostStatus.PUBLISHED: lazy_pgettext("community post status", "Published"),
    PostStatus.HIDDEN: lazy_pgettext("community post status", "Hidden"),
    PostStatus.DELETED: lazy_pgettext("community post status", "Deleted"),
}
