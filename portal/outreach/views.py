"""The outreach console (/admin/outreach/): message templates with a preview for a
real resident, and the day's letters for printing."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, joinedload

from portal.audit.recording import record, record_many
from portal.extensions import db
from portal.forms import options
from portal.i18n import language_names
from portal.i18n_fields import current_locale, localized
from portal.outreach import admin_bp, guards, letters, sending
from portal.outreach.forms import LANGUAGES, PreviewForm, TemplateForm
from portal.outreach.labels import CHANNEL_LABELS, SUPPRESSION_LABELS
from portal.outreach.models import LetterBatch, MessageTemplate
from portal.outreach.placeholders import PLACEHOLDERS
from portal.permissions import (
    can_manage_outreach_templates,
    can_print_letters,
    permission_required,
)
from portal.playbooks.models import Playbook, PlaybookStatus
from portal.rendering import render_and_commit
from portal.residents.models import Resident
from portal.residents.naming import resident_name
from portal.residents.records import name_conditions
from portal.services.models import Department
from portal.timeutil import local_today, utcnow

PREVIEW_MATCHES = 10
FIELDS = ("name_ja", "name_en", "subject_ja", "subject_en", "body_ja", "body_en")


# -- templates ----------------------------------------------------------------------------

def users_of(template_ids: list[int] | None = None) -> dict[int, list[Playbook]]:
    """``{template id: [active or paused playbooks whose steps use it]}`` (one query:
    the steps are a JSON list on the playbook)."""
    books = db.session.scalars(select(Playbook).where(
        Playbook.status.in_([PlaybookStatus.ACTIVE, PlaybookStatus.PAUSED]))
        .order_by(Playbook.id)).all()
    used: dict[int, list[Playbook]] = {}
    for book in books:
        for step in book.steps or []:
            tid = step.get("template_id") if isinstance(step, dict) else None
            if isinstance(tid, int) and step.get("kind") == "message" and (
                    template_ids is None or tid in template_ids) and book not in \
                    used.setdefault(tid, []):
                used[tid].append(book)
    return used


def _missing(template: MessageTemplate) -> list[str]:
    return sending.missing_languages(template, LANGUAGES)


@admin_bp.get("/templates")
@permission_required(can_manage_outreach_templates)
def templates():
    items = db.session.scalars(select(MessageTemplate).join(MessageTemplate.department)
                               .options(contains_eager(MessageTemplate.department))
                               .order_by(Department.code, MessageTemplate.name_ja,
                                         MessageTemplate.id)).all()
    return render_and_commit("outreach/templates.html", items=items, used=users_of(),
                             missing={t.id: _missing(t) for t in items})


def _form(template: MessageTemplate | None = None, formdata=None) -> TemplateForm:
    form = TemplateForm(formdata, obj=template if formdata is None else None)
    departments = db.session.scalars(select(Department).order_by(Department.code)).all()
    form.department_id.choices = options(
        [(0, _("Choose the department"))] + [(d.id, localized(d, "name")) for d in departments])
    return form


def _editor(form: TemplateForm, template: MessageTemplate | None, status: int = 200):
    return render_and_commit("outreach/template_form.html", form=form, tpl=template,
                             placeholders=PLACEHOLDERS,
                             missing=_missing(template) if template else [],
                             used=users_of([template.id]).get(template.id, [])
                             if template else []), status


def _save(form: TemplateForm, template: MessageTemplate) -> dict[str, str]:
    """Copy the form into ``template``; returns the fields that changed."""
    changed = {}
    for name in FIELDS:
        value = (getattr(form, name).data or "").strip()
        if (getattr(template, name, None) or "") != value:
            changed[name] = value
        setattr(template, name, value)
    if template.department_id != form.department_id.data:
        changed["department_id"] = form.department_id.data
    template.department_id = form.department_id.data
    return changed


@admin_bp.route("/templates/new", methods=["GET", "POST"])
@permission_required(can_manage_outreach_templates)
def template_new():
    form = _form(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST":
        if not form.validate():
            return _editor(form, None, 400)
        template = MessageTemplate(created_by_id=current_user.id)
        _save(form, template)
        db.session.add(template)
        db.session.flush()
        record("outreach_template.create", actor=current_user, target=template,
               summary="Created a message template",
               data={"department_id": template.department_id, "missing": _missing(template)})
        db.session.commit()
        flash(_("Message template saved."), "success")
        return redirect(url_for("outreach.template_edit", template_id=template.id))
    return _editor(form, None)


@admin_bp.route("/templates/<int:template_id>", methods=["GET", "POST"])
@permission_required(can_manage_outreach_templates)
def template_edit(template_id: int):
    template = db.get_or_404(MessageTemplate, template_id)
    form = _form(template, request.form if request.method == "POST" else None)
    if request.method == "POST":
        if not form.validate():
            return _editor(form, template, 400)
        changed = _save(form, template)
        if not changed:
            flash(_("Nothing changed."), "info")
            return redirect(url_for("outreach.template_edit", template_id=template.id))
        template.updated_at = utcnow()
        db.session.flush()
        record("outreach_template.update", actor=current_user, target=template,
               summary="Changed a message template",
               data={"fields": sorted(changed), "missing": _missing(template)})
        db.session.commit()
        flash(_("Message template saved."), "success")
        return redirect(url_for("outreach.template_edit", template_id=template.id))
    return _editor(form, template)


@admin_bp.post("/templates/<int:template_id>/delete")
@permission_required(can_manage_outreach_templates)
def template_delete(template_id: int):
    template = db.get_or_404(MessageTemplate, template_id)
    books = users_of([template.id]).get(template.id, [])
    if books:
        flash(_("The template is used by these playbooks and cannot be deleted: %(names)s. "
                "Take it out of their steps or archive them first.",
                names=("、" if current_locale() == "ja" else ", ").join(
                    b.name for b in books)), "error")
        return redirect(url_for("outreach.template_edit", template_id=template.id))
    record("outreach_template.delete", actor=current_user, target=template,
           summary="Deleted a message template",
           data={"name": template.name_ja or template.name_en,
                 "department_id": template.department_id})
    db.session.delete(template)  # messages sent with it keep their text (template_id NULL)
    db.session.commit()
    flash(_("Message template deleted."), "success")
    return redirect(url_for("outreach.templates"))


@admin_bp.get("/templates/<int:template_id>/preview")
@permission_required(can_manage_outreach_templates)
def template_preview(template_id: int):
    """Subject and body as one resident would get them, the channel and any reason
    the message would not go (the resident's view is audited)."""
    template = db.get_or_404(MessageTemplate, template_id)
    form = PreviewForm(request.args)
    form.validate()
    matches, resident, preview = [], None, None
    if form.resident_id.data and not form.resident_id.errors:
        resident = db.session.get(Resident, form.resident_id.data)
        if resident is None or resident.anonymised_at is not None:
            abort(404)
    elif form.q.data and not form.q.errors:
        matches = db.session.scalars(
            select(Resident).where(Resident.anonymised_at.is_(None),
                                   *name_conditions(form.q.data, contact=False))
            .order_by(Resident.external_id == form.q.data.strip(), Resident.family_name_kana,
                      Resident.id).limit(PREVIEW_MATCHES + 1)).all()
        # an exact external id first
        matches.sort(key=lambda r: r.external_id != form.q.data.strip())
        record_many("resident.list_view", actor=current_user, target_type="residents",
                    target_ids=[r.id for r in matches[:PREVIEW_MATCHES]],
                    summary="Saw the resident in a message template's preview search")
    if resident is not None:
        books = users_of([template.id]).get(template.id, [])
        service = next((b.service for b in books if b.service is not None), None)
        composed = sending.compose(template, resident, service=service, date=local_today())
        reason = guards.reason(resident)
        channel = guards.channel_for(resident)
        preview = {"composed": composed, "service": service, "reason": reason,
                   "reason_label": SUPPRESSION_LABELS.get(reason) if reason else None,
                   "channel": channel,
                   "channel_label": CHANNEL_LABELS.get(channel) if channel else None,
                   "wanted": sending.language_of(resident)}
        record("outreach_template.preview", actor=current_user, target=resident,
               summary="Previewed a message template for the resident",
               data={"template_id": template.id, "locale": composed.locale})
    return render_and_commit("outreach/preview.html", tpl=template, form=form,
                             matches=matches[:PREVIEW_MATCHES],
                             more=len(matches) > PREVIEW_MATCHES, resident=resident,
                             preview=preview, languages=language_names(current_app.config),
                             name_of=lambda r: resident_name(r, current_locale()) or "—")


# -- letters ------------------------------------------------------------------------------

@admin_bp.get("/letters")
@permission_required(can_print_letters)
def letters_index():
    page = db.paginate(select(LetterBatch).options(joinedload(LetterBatch.printed_by))
                       .order_by(LetterBatch.day.desc()),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    counts = letters.batch_counts([b.id for b in page.items])
    return render_and_commit("outreach/letters.html", page=page, counts=counts,
                             today=local_today())


@admin_bp.get("/letters/<int:batch_id>.pdf")
@permission_required(can_print_letters)
def letters_pdf(batch_id: int):
    batch = db.get_or_404(LetterBatch, batch_id)
    content = letters.batch_pdf(batch)
    record("letters.download", actor=current_user, target=batch,
           summary="Downloaded the letters for printing", data={"day": batch.day.isoformat()})
    # the PDF holds each resident's name and postal address: their access log says so
    record_many("letters.resident_view", actor=current_user, target_type="residents",
                target_ids=sorted({letter.message.resident_id
                                   for letter in letters.letters_of(batch)}),
                summary="The resident's letter was in a downloaded batch for printing",
                data={"batch": batch.id})
    db.session.commit()
    return Response(content, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{letters.filename(batch)}"',
        "Cache-Control": "no-store"})


@admin_bp.post("/letters/<int:batch_id>/printed")
@permission_required(can_print_letters)
def letters_printed(batch_id: int):
    batch = db.get_or_404(LetterBatch, batch_id)
    count = letters.mark_printed(batch, current_user)
    if count is None:
        flash(_("The letters of %(day)s were already marked printed.",
                day=_day(batch)), "info")
    else:
        db.session.commit()
        flash(ngettext("%(num)s letter of %(day)s is marked printed and counts as sent.",
                       "%(num)s letters of %(day)s are marked printed and count as sent.",
                       count, day=_day(batch)), "success")
    return redirect(url_for("outreach.letters_index"))


def _day(batch: LetterBatch) -> str:
    return format_date(batch.day, "long")
