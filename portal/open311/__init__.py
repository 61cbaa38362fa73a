"""Open311 GeoReport v2 (/open311/v2/…): discovery, services, service
definitions, requests and tokens, in XML and JSON. A request is an inquiry in
the same queue, with channel ``open311``."""

from flask import Blueprint

bp = Blueprint("open311", __name__)
admin_bp = Blueprint("open311_admin", __name__, template_folder="templates")
