"""My work: the tasks assigned to a member of staff and their department's queue,
and the case pages they are worked from (/admin/work/)."""

from flask import Blueprint

bp = Blueprint("work", __name__, template_folder="templates")
