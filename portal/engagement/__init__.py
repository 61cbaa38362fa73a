"""Engagement scores per resident and service: the model, the set-based recompute,
and the dashboards that show staff where to act first."""

from flask import Blueprint

admin_bp = Blueprint("engagement", __name__, template_folder="templates")

# Routes: views.py (console), imported by the app factory when it registers the blueprint.
