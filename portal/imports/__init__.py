"""CSV import of residents and usage events (console and command line)."""

from flask import Blueprint

bp = Blueprint("imports", __name__, template_folder="templates")

# Routes: views.py (console: upload → preview → confirm).
