"""Console: Open311 api_keys (administrators) and each service's Open311 attributes
(those who manage the catalogue)."""

from __future__ import annotations

from flask import current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.audit.recording import record
from portal.extensions import db
from portal.forms import EmptyForm
from portal.inquiries.models import Open311Key, ServiceAttribute
from portal.open311 import admin_bp, keys
from portal.open311 import attributes as attribute_values
from portal.open311.forms import DATATYPE_LABELS, AttributeForm, NewOpen311KeyForm
from portal.permissions import (
    can_define_service_attributes,
    can_manage_open311,
    permission_required,
)
from portal.services.models import Service


@admin_bp.get("/")
@permission_required(can_manage_open311)
def keys_list():
    stmt = (select(Open311Key).options(selectinload(Open311Key.created_by))
            .order_by(Open311Key.revoked_at.is_not(None), Open311Key.created_at.desc(),
                      Open311Key.id.desc()))
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("open311/keys.html", page=page,
                           jurisdiction=current_app.config["OPEN311_JURISDICTION"])


@admin_bp.route("/keys/new", methods=["GET", "POST"])
@permission_required(can_manage_open311)
def key_new():
    form = NewOpen311KeyForm()
    if form.validate_on_submit():
        key, value = keys.create_key(actor=current_user, name=form.name.data,
                                     departments=form.selected_departments())
        db.session.commit()
        # shown once, on this very response: never in a URL, the session or a flash
        # message, and never cached
        response = make_response(render_template("open311/key_created.html", key=key,
                                                 value=value))
        response.headers["Cache-Control"] = "no-store"
        return response
    return render_template("open311/key_new.html", form=form)


@admin_bp.post("/keys/<int:key_id>/revoke")
@permission_required(can_manage_open311)
def key_revoke(key_id: int):
    key = db.get_or_404(Open311Key, key_id)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("open311_admin.keys_list"))
    if keys.revoke_key(actor=current_user, key=key):
        db.session.commit()
        flash(_("The key “%(name)s” has been revoked. Requests with it are refused from now "
                "on.", name=key.name), "success")
    else:
        flash(_("The key “%(name)s” was revoked already.", name=key.name), "info")
    return redirect(url_for("open311_admin.keys_list"))


# -- a service's attributes ---------------------------------------------------------------

def _service(slug: str) -> Service:
    return db.first_or_404(select(Service).where(Service.slug == slug))


def _attribute(service: Service, attribute_id: int) -> ServiceAttribute:
    return db.first_or_404(select(ServiceAttribute).where(
        ServiceAttribute.id == attribute_id, ServiceAttribute.service_id == service.id))


@admin_bp.get("/services/<slug>/attributes")
@permission_required(can_define_service_attributes)
def attributes(slug: str):
    service = _service(slug)
    rows = db.session.scalars(select(ServiceAttribute).where(
        ServiceAttribute.service_id == service.id).order_by(ServiceAttribute.position,
                                                            ServiceAttribute.code)).all()
    return render_template("open311/attributes.html", service=service, attributes=rows,
                           datatype_labels=DATATYPE_LABELS,
                           list_types=attribute_values.LIST_TYPES)


def _next_position(service: Service) -> int:
    positions = db.session.scalars(select(ServiceAttribute.position).where(
        ServiceAttribute.service_id == service.id)).all()
    return max(positions, default=0) + 1


@admin_bp.route("/services/<slug>/attributes/new", methods=["GET", "POST"])
@permission_required(can_define_service_attributes)
def attribute_new(slug: str):
    service = _service(slug)
    form = AttributeForm(service=service)
    if not form.is_submitted():
        form.position.data = _next_position(service)
    if form.validate_on_submit():
        attribute = ServiceAttribute(service_id=service.id, **form.values())
        db.session.add(attribute)
        db.session.flush()
        record("service_attribute.create", actor=current_user, target=attribute,
               summary=f"Added Open311 attribute {attribute.code} to service {service.slug}",
               data={"service_id": service.id, "code": attribute.code})
        db.session.commit()
        flash(_("The attribute “%(code)s” has been added.", code=attribute.code), "success")
        return redirect(url_for("open311_admin.attributes", slug=service.slug))
    return render_template("open311/attribute_form.html", form=form, service=service,
                           attribute=None)


@admin_bp.route("/services/<slug>/attributes/<int:attribute_id>", methods=["GET", "POST"])
@permission_required(can_define_service_attributes)
def attribute_edit(slug: str, attribute_id: int):
    service = _service(slug)
    attribute = _attribute(service, attribute_id)
    form = AttributeForm(obj=attribute, service=service, attribute=attribute)
    if not form.is_submitted():
        form.values_text.data = attribute_values.format_values(attribute.values)
    if form.validate_on_submit():
        values = form.values()
        changed = sorted(k for k, v in values.items() if getattr(attribute, k) != v)
        for name, value in values.items():
            setattr(attribute, name, value)
        db.session.flush()
        if changed:
            record("service_attribute.update", actor=current_user, target=attribute,
                   summary=f"Updated Open311 attribute {attribute.code} of service "
                           f"{service.slug}", data={"fields": changed})
        db.session.commit()
        flash(_("The attribute “%(code)s” has been saved.", code=attribute.code), "success")
        return redirect(url_for("open311_admin.attributes", slug=service.slug))
    return render_template("open311/attribute_form.html", form=form, service=service,
                           attribute=attribute)


@admin_bp.post("/services/<slug>/attributes/<int:attribute_id>/delete")
@permission_required(can_define_service_attributes)
def attribute_delete(slug: str, attribute_id: int):
    service = _service(slug)
    attribute = _attribute(service, attribute_id)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("open311_admin.attributes", slug=service.slug))
    code = attribute.code
    record("service_attribute.delete", actor=current_user, target=attribute,
           summary=f"Removed Open311 attribute {code} from service {service.slug}",
           data={"service_id": service.id, "code": code})
    db.session.delete(attribute)
    db.session.commit()
    flash(_("The attribute “%(code)s” has been removed. Values already received with "
            "requests stay on them.", code=code), "success")
    return redirect(url_for("open311_admin.attributes", slug=service.slug))
