"""Playbooks: signals (a weakening score, no use, a detractor, an overdue inquiry,
a life event ...) open cases for staff with tasks, messages and survey invitations
in the resident's language; a hash-chosen holdout measures whether it worked
(/admin/playbooks/)."""

from flask import Blueprint

admin_bp = Blueprint("playbooks", __name__, template_folder="templates")
