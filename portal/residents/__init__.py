"""Residents: My page, profile and data for residents; records, the 360° view,
counter entry, linking and merging for staff."""

from flask import Blueprint

bp = Blueprint("residents", __name__, template_folder="templates")
admin_bp = Blueprint("residents_admin", __name__, template_folder="templates")

# Routes: views.py (resident portal) and admin_views.py (console).
