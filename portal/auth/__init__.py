"""Accounts: registration, sign-in and out, password reset, account settings."""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

# Routes live in views.py, imported by the app factory when it registers the blueprint.
