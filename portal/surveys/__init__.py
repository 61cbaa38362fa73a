"""Surveys: staff build them, residents answer them (invitation link, signed in,
or a paper/phone response entered by staff), and the answers become the standard
numbers (CSAT, NPS, CES, response rate) and the *satisfaction* measure of the
engagement score."""

from flask import Blueprint

# the console (/admin/surveys/) and the resident side (/surveys/)
admin_bp = Blueprint("surveys_admin", __name__, template_folder="templates")
bp = Blueprint("surveys", __name__, template_folder="templates")
