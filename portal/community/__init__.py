"""Community Q&A: residents ask and answer, staff give official answers, moderators
keep it civil, and search works in Japanese (/community/, /admin/community/)."""

from flask import Blueprint

bp = Blueprint("community", __name__, template_folder="templates")
admin_bp = Blueprint("community_admin", __name__, template_folder="templates")
