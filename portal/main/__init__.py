"""Public pages shared by every visitor: home, language switch, health check."""

from flask import Blueprint

bp = Blueprint("main", __name__, template_folder="templates")

# Routes live in views.py, imported by the app factory when it registers the blueprint.
