"""The JSON API for departmental systems (``/api/v1``) and its tokens."""

from flask import Blueprint

bp = Blueprint("api", __name__)
admin_bp = Blueprint("api_tokens", __name__, template_folder="templates")

# Routes: views.py (the API) and admin_views.py (token management in the console).
