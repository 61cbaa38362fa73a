"""Console: upload a CSV file → preview what checking found → confirm (or discard)."""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, joinedload
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from portal.extensions import db
from portal.forms import EmptyForm
from portal.imports import bp, importing
from portal.imports.csvfile import describe, problems_csv
from portal.imports.forms import KIND_LABELS, STATUS_LABELS, UploadForm
from portal.imports.models import ImportBatch, ImportStatus
from portal.permissions import can_import_data, permission_required

SHOWN_PROBLEMS = 100


@bp.app_context_processor
def import_labels():
    return {"IMPORT_KIND_LABELS": KIND_LABELS, "IMPORT_STATUS_LABELS": STATUS_LABELS}


def _index(form: UploadForm, status: int = 200):
    stmt = (select(ImportBatch)
            .options(defer(ImportBatch.content), defer(ImportBatch.errors),
                     defer(ImportBatch.preview), joinedload(ImportBatch.uploaded_by))
            .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc()))
    page = db.paginate(stmt, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    columns = {kind: importing.columns_of(kind) for kind in KIND_LABELS}
    return render_template("imports/index.html", form=form, page=page,
                           import_columns=columns), status


@bp.route("/", methods=["GET", "POST"])
@permission_required(can_import_data)
def index():
    form = UploadForm()
    if form.validate_on_submit():
        batch = importing.check_upload(actor=current_user, kind=form.kind.data,
                                       filename=form.file.data.filename or "",
                                       content=form.content, skip_bad=form.skip_bad.data)
        db.session.commit()
        if batch.status == ImportStatus.CHECKED:
            flash(_("The file was checked. Nothing has been imported yet: review the preview, "
                    "then confirm."), "info")
        else:
            flash(_("The file was checked and cannot be imported as it is; see the problems "
                    "below."), "warning")
        return redirect(url_for("imports.batch", batch_id=batch.id))
    return _index(form)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(_error):
    # The body was refused unread: every form on the page (the upload form, the
    # sign-out button) must see an empty one rather than try to parse it again.
    request.__dict__.update(form=ImmutableMultiDict(), files=ImmutableMultiDict())
    form = UploadForm(formdata=None)
    form.too_large()
    return _index(form, 413)


def _load(batch_id: int) -> ImportBatch:
    return db.first_or_404(select(ImportBatch).where(ImportBatch.id == batch_id)
                           .options(defer(ImportBatch.content)))


@bp.get("/<int:batch_id>")
@permission_required(can_import_data)
def batch(batch_id: int):
    batch = _load(batch_id)
    problems = batch.errors or []
    return render_template(
        "imports/batch.html", batch=batch, columns=importing.columns_of(batch.kind),
        problems=[(p, describe(p)) for p in problems[:SHOWN_PROBLEMS]],
        problem_count=len(problems), shown=min(len(problems), SHOWN_PROBLEMS))


@bp.get("/<int:batch_id>/report.csv")
@permission_required(can_import_data)
def report(batch_id: int):
    batch = _load(batch_id)
    body = "\ufeff" + problems_csv(batch.errors or [])  # a BOM, so spreadsheets read UTF-8
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{batch.id}-problems.csv"'})


@bp.post("/<int:batch_id>/confirm")
@permission_required(can_import_data)
def confirm(batch_id: int):
    batch = db.get_or_404(ImportBatch, batch_id)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("imports.batch", batch_id=batch.id))
    try:
        result = importing.apply_batch(batch, actor=current_user)
        db.session.commit()
    except importing.ImportStateError:
        db.session.rollback()
        flash(_("This import cannot be confirmed any more (it was imported or discarded "
                "already)."), "error")
    except IntegrityError:
        db.session.rollback()
        flash(_("The import clashed with a change made at the same time, so nothing was "
                "imported. Please try again."), "error")
    else:
        if result.applied:
            counts = result.counts
            flash(_("Imported: %(created)s created, %(updated)s updated, %(duplicates)s "
                    "already stored, %(skipped)s bad rows skipped.", **counts), "success")
        else:
            flash(ngettext("Nothing was imported: since the check, %(num)s row has a problem.",
                           "Nothing was imported: since the check, %(num)s rows have problems.",
                           result.bad_rows), "error")
    return redirect(url_for("imports.batch", batch_id=batch_id))


@bp.post("/<int:batch_id>/discard")
@permission_required(can_import_data)
def discard(batch_id: int):
    batch = _load(batch_id)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("imports.batch", batch_id=batch.id))
    try:
        importing.discard_batch(batch, actor=current_user)
    except importing.ImportStateError:
        flash(_("This import cannot be discarded: it was imported or discarded already."),
              "error")
        return redirect(url_for("imports.batch", batch_id=batch.id))
    db.session.commit()
    flash(_("The upload was discarded; nothing was imported."), "success")
    return redirect(url_for("imports.index"))
