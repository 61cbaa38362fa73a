"""The FAQ: entries in Japanese and English owned by a department, promoted from the
community or written by staff, kept current by a review date (/faq/, /admin/faq/)."""

from flask import Blueprint

bp = Blueprint("faq", __name__, template_folder="templates")
admin_bp = Blueprint("faq_admin", __name__, template_folder="templates")
