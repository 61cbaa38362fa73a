"""Console: building surveys (list, edit, questions, status, JSON export/import)."""

from portal.surveys import admin_bp  # noqa: F401
