"""The admin console shell: home, staff accounts, the audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates")

# Routes live in views.py, imported by the app factory when it registers the blueprint.
