"""Routes of this part (see its helper brief)."""

from portal.faq import bp  # noqa: F401
