"""Municipal services: the catalogue residents browse, its management in the
console, and the usage data behind it."""

from flask import Blueprint

bp = Blueprint("services", __name__, template_folder="templates")
admin_bp = Blueprint("services_admin", __name__, template_folder="templates")

# Routes: views.py (public catalogue) and admin_views.py (console), imported by the
# app factory when it registers the blueprints.
