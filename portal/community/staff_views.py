"""Routes of this part (see its helper brief)."""

from portal.community import admin_bp  # noqa: F401
