"""Routes of this part (see its helper brief)."""

from portal.faq import admin_bp  # noqa: F401
