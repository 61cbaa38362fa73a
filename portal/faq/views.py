"""The public FAQ (/faq/): by service and by department, searchable, and one
entry's page. No account needed."""

from __future__ import annotations

from itertools import groupby

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from portal import database
from portal.extensions import db
from portal.faq import bp, queries
from portal.faq.forms import SearchForm
from portal.faq.models import EntryStatus, FaqEntry
from portal.faq.review import review_state
from portal.i18n_fields import current_locale, localized_pair
from portal.pagination import RowPage
from portal.search import search
from portal.services.models import Department, Service

PER_PAGE = 20


def _page_number() -> int:
    try:
        return min(max(int(request.args.get("page", 1)), 1), 1000)
    except (TypeError, ValueError):
        return 1


@bp.get("/")
def index():
    form = SearchForm(request.args)
    valid = form.validate()
    service = department = None
    if request.args.get("service"):
        service = db.first_or_404(select(Service).where(
            Service.slug == request.args["service"]))
    if request.args.get("department"):
        department = db.first_or_404(select(Department).where(
            Department.code == request.args["department"]))
    query = (form.q.data or "").strip() if valid else ""
    context = {"form": form, "service": service, "department": department, "query": query,
               "services": queries.service_counts(),
               "departments": queries.department_counts()}
    if query:
        page = _page_number()
        results = search(query, current_locale(), kinds=("faq",), limit=PER_PAGE,
                         offset=(page - 1) * PER_PAGE,
                         service_id=service.id if service else None)
        context["results"] = RowPage(items=results.hits, page=page, per_page=PER_PAGE,
                                     total=results.total)
        return render_template("faq/index.html", **context)
    entries = queries.public_entries(service_id=service.id if service else None,
                                     department_id=department.id if department else None)
    context["groups"] = [(dept, list(items)) for dept, items in
                         groupby(entries, key=lambda e: e.department)]
    context["entry_services"] = queries.services_of([e.id for e in entries])
    context["count"] = len(entries)
    return render_template("faq/index.html", **context)


@bp.get("/<int:entry_id>")
def entry(entry_id: int):
    item = db.get_or_404(FaqEntry, entry_id)
    if item.status != EntryStatus.PUBLISHED:
        abort(404)
    question, lang = localized_pair(item, "question")
    answer = getattr(item, f"answer_{lang}")
    page = render_template(
        "faq/entry.html", entry=item, question=question, lang=lang,
        answer_html=queries.render(answer), draft=getattr(item, f"draft_{lang}"),
        other_draft={loc: getattr(item, f"draft_{loc}") for loc in ("ja", "en")},
        state=review_state(item), services=queries.services_of([item.id])[item.id])
    db.session.commit()  # end the read: it wrote nothing
    if not (current_user.is_authenticated and current_user.is_staff_member):
        _count_view(item.id)
    return page


def _count_view(entry_id: int) -> None:
    """One more public view (staff reading are not counted). Best effort: a busy
    database must not turn a reader's page into an error."""
    try:
        with database.short_write():
            db.session.execute(update(FaqEntry).where(FaqEntry.id == entry_id).values(
                view_count=FaqEntry.view_count + 1, updated_at=FaqEntry.updated_at))
            db.session.commit()
    except OperationalError:
        db.session.rollback()
