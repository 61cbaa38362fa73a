"""Console: a survey's audience, invitations and reminder."""

from portal.surveys import admin_bp  # noqa: F401
