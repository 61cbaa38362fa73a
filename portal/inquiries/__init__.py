"""Inquiries from every channel: residents send and follow them (/inquiries/),
staff work them in a queue with service levels (/admin/inquiries/), and Open311
apps file them (``portal.open311``). Resolution closes the loop with a short
survey; open and overdue inquiries lower the *friction* measure of the score."""

from flask import Blueprint

bp = Blueprint("inquiries", __name__, template_folder="templates")
admin_bp = Blueprint("inquiries_admin", __name__, template_folder="templates")
