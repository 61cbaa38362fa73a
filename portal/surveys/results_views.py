"""Console: a survey's results, break-downs, free text, detractors and exports."""

from portal.surveys import admin_bp  # noqa: F401
