"""Routes of this part (see its helper brief)."""

from portal.community import bp  # noqa: F401
