"""The public service catalogue."""

from __future__ import annotations

from itertools import groupby

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from portal.community.reading import service_questions
from portal.extensions import db
from portal.faq.queries import service_entries
from portal.permissions import can_use_resident_portal
from portal.residents.models import Resident
from portal.services import bp
from portal.services.catalogue_queries import catalogue_query
from portal.services.eligibility import describe
from portal.services.forms import CatalogueSearchForm
from portal.services.models import Department, Service, UsageEvent


@bp.get("/")
def catalogue():
    form = CatalogueSearchForm(request.args)
    valid = form.validate()
    services = db.session.scalars(catalogue_query(
        text=form.q.data if valid else None,
        department_code=form.department.data if valid else None)).all()
    groups = [(department, list(items))
              for department, items in groupby(services, key=lambda s: s.department)]
    return render_template("services/catalogue.html", form=form, groups=groups,
                           count=len(services))


@bp.get("/<slug>")
def service(slug: str):
    item = db.first_or_404(select(Service).where(Service.slug == slug))
    if not item.active:
        abort(404)
    last_use = None
    if can_use_resident_portal(current_user):
        last_use = db.session.scalar(
            select(func.max(UsageEvent.occurred_at))
            .join(Resident, Resident.id == UsageEvent.resident_id)
            .where(Resident.user_id == current_user.id, UsageEvent.service_id == item.id))
    others = db.session.scalars(
        select(Service).where(Service.department_id == item.department_id,
                              Service.id != item.id, Service.active.is_(True))
        .order_by(Service.slug)).all()
    faq_entries, faq_total = service_entries(item.id)
    questions, question_total = service_questions(item)
    return render_template("services/service.html", service=item, rule=describe(item.eligibility),
                           last_use=last_use, others=others,
                           department=db.session.get(Department, item.department_id),
                           faq_entries=faq_entries, faq_total=faq_total,
                           questions=questions, question_total=question_total)
