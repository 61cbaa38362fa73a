"""The resident's own pages: My page, profile and preferences, their data."""

from __future__ import annotations

import io

from flask import flash, g, redirect, render_template, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from portal.extensions import db
from portal.forms import EmptyForm
from portal.i18n_fields import current_locale
from portal.permissions import can_use_resident_portal, permission_required
from portal.residents import bp, export, naming, operations, records
from portal.residents.forms import DeleteAccountForm, ProfileForm
from portal.timeutil import local_today


def own_record():
    return records.resident_for_user(current_user)


@bp.app_context_processor
def names_in_the_page_language():
    """``signed_in_name()``: the signed-in person's name in the page's language (a
    resident by the name form of the language, staff by their display name), looked
    up once per request; ``addressed_name()`` adds the honorific for residents;
    ``name_of(resident)``: a resident's name form for the page's language."""

    def signed_in_name() -> str:
        if not current_user.is_authenticated:
            return ""
        if "signed_in_name" not in g:
            g.signed_in_name = naming.user_name(current_user, current_locale())
        return g.signed_in_name

    def addressed_name() -> str:
        name = signed_in_name()
        if current_user.is_authenticated and not current_user.is_staff_member:
            return naming.addressed(name)
        return name

    def name_of(resident) -> str:
        return naming.resident_name(resident, current_locale())

    return {"signed_in_name": signed_in_name, "addressed_name": addressed_name,
            "name_of": name_of}


@bp.get("/")
@permission_required(can_use_resident_portal)
def my_page():
    resident = own_record()
    if resident is None:
        return render_template("residents/no_record.html")
    uses = records.services_used(resident)
    recent = db.session.scalars(records.timeline(resident).limit(8)).all()
    suggestions = records.eligible_unused_services(resident, {u.service.id for u in uses})
    return render_template("residents/my_page.html", resident=resident, uses=uses,
                           recent=recent, suggestions=suggestions)


@bp.route("/profile", methods=["GET", "POST"])
@permission_required(can_use_resident_portal)
def profile():
    resident = own_record()
    if resident is None:
        return render_template("residents/no_record.html")
    form = ProfileForm(obj=resident)
    if form.validate_on_submit():
        changed = operations.update_profile(actor=current_user, resident=resident,
                                            values=form.values())
        db.session.commit()
        flash(_("Your profile has been saved.") if changed else _("Nothing was changed."),
              "success" if changed else "info")
        return redirect(url_for("residents.profile"))
    household = records.household_members(resident)
    return render_template("residents/profile.html", form=form, resident=resident,
                           household_size=len(household) + 1 if resident.household_id else 0)


@bp.get("/data")
@permission_required(can_use_resident_portal)
def your_data():
    return render_template("residents/your_data.html", export_form=EmptyForm(),
                           delete_form=DeleteAccountForm(user=current_user),
                           resident=own_record())


@bp.post("/data/export")
@permission_required(can_use_resident_portal)
def export_data():
    resident = own_record()
    if resident is None or not EmptyForm().validate_on_submit():
        return redirect(url_for("residents.your_data"))
    content = export.build_export(resident=resident, user=current_user)
    db.session.commit()
    return send_file(io.BytesIO(content), mimetype="application/zip",
                     as_attachment=True,
                     download_name=f"my-data-{local_today().isoformat()}.zip")


@bp.post("/data/delete")
@permission_required(can_use_resident_portal)
def delete_account():
    form = DeleteAccountForm(user=current_user)
    if not form.validate_on_submit():
        return render_template("residents/your_data.html", export_form=EmptyForm(),
                               delete_form=form, resident=own_record()), 400
    user = current_user._get_current_object()
    resident = own_record()
    register_record = resident is not None and resident.external_id is not None
    logout_user()
    if resident is not None:
        operations.erase(resident=resident, user=user)
    else:
        db.session.delete(user)
    db.session.commit()
    session.clear()
    flash(_("Your account has been deleted and what you entered removed from your resident "
            "record.") if register_record else
          _("Your account has been deleted and your personal data erased."), "success")
    return redirect(url_for("main.home"))
