"""Outreach: message templates per locale, e-mail through the outbox, letters
printed in a daily batch, the guards no message passes without (consent,
do-not-contact, an address, the city-wide contact budget) and staff touchpoints
(/admin/outreach/)."""

from flask import Blueprint

admin_bp = Blueprint("outreach", __name__, template_folder="templates")
