"""The FAQ console (/admin/faq/): the entries with their review state, writing,
promoting a community answer, editing (with a change note), marking reviewed,
archiving and restoring, the versions with a comparison; and the search's synonym
list. Staff work on their own department's entries, managers and admins on all.
Every change goes through ``portal.faq.operations`` (or ``synonyms``); a refused
one shows the form again with the reason and what was typed."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, redirect, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from portal.auth.models import Role
from portal.community.models import Post
from portal.extensions import db
from portal.faq import admin_bp, operations, queries, review, synonyms
from portal.faq.forms import EntryForm, ListFilterForm, ReviewForm, SynonymForm
from portal.faq.labels import (
    FIELD_LABELS,
    REVIEW_STATE_LABELS,
    STATUS_LABELS,
    VERSION_ACTION_LABELS,
)
from portal.faq.models import EntryStatus, FaqEntry, FaqEntryService, FaqVersion, SynonymGroup
from portal.faq.operations import EntryValues, FaqError
from portal.forms import filter_values
from portal.i18n_fields import localized
from portal.permissions import can_edit_faq, can_manage_synonyms, permission_required
from portal.rendering import render_and_commit
from portal.services.models import Department, Service
from portal.timeutil import local_today

PER_PAGE = 25


def _page_number() -> int:
    try:
        return min(max(int(request.args.get("page", 1)), 1), 100_000)
    except (TypeError, ValueError):
        return 1


def _load(entry_id: int) -> FaqEntry:
    """The entry, or 404; 403 when it is another department's (staff)."""
    entry = db.get_or_404(FaqEntry, entry_id)
    if not can_edit_faq(current_user, entry):
        abort(403)
    return entry


def post_url(post: Post | None) -> str | None:
    """A community post's page (None until the community's pages exist)."""
    if post is None:
        return None
    try:
        return url_for("community.question", question_id=post.thread_id,
                       _anchor=f"post-{post.id}")
    except BuildError:
        return None


# -- the list ---------------------------------------------------------------------------

@admin_bp.get("/")
@permission_required(can_edit_faq)
def index():
    args = request.args.to_dict()
    if "department" not in args and current_user.role == Role.STAFF \
            and current_user.department is not None:
        args["department"] = current_user.department.code  # staff: their own first
    form = ListFilterForm(MultiDict(args))
    wanted = filter_values(form)
    today = local_today()
    query = select(FaqEntry).options(joinedload(FaqEntry.department))
    show = wanted.get("review") or ""
    if show == "archived":
        query = query.where(FaqEntry.status == EntryStatus.ARCHIVED)
    else:
        query = query.where(FaqEntry.status == EntryStatus.PUBLISHED)
    if show == "due":
        query = query.where(FaqEntry.review_on <= today)
    elif show == "being_reviewed":
        query = query.where(FaqEntry.review_on < today - timedelta(days=review.grace_days()))
    if wanted.get("department"):
        query = query.where(FaqEntry.department_id == select(Department.id).where(
            Department.code == wanted["department"]).scalar_subquery())
    if wanted.get("service"):
        query = query.where(FaqEntry.id.in_(
            select(FaqEntryService.entry_id).join(Service, Service.id
                                                  == FaqEntryService.service_id)
            .where(Service.slug == wanted["service"])))
    page = db.paginate(query.order_by(FaqEntry.review_on, FaqEntry.id), page=_page_number(),
                       per_page=PER_PAGE, error_out=False)
    entries = list(page.items)
    return render_and_commit(
        "faq/admin/index.html", form=form, page=page, entries=entries, today=today,
        entry_services=queries.services_of([e.id for e in entries]),
        states={e.id: review.review_state(e, today) for e in entries},
        REVIEW_STATE_LABELS=REVIEW_STATE_LABELS, STATUS_LABELS=STATUS_LABELS)


# -- writing, promoting, editing ---------------------------------------------------------

def _departments() -> list[Department]:
    """The departments the viewer may give an entry to."""
    query = select(Department).order_by(Department.code)
    if current_user.role == Role.STAFF:
        query = query.where(Department.id == current_user.department_id)
    return list(db.session.scalars(query))


def _form(formdata=None, **data) -> EntryForm:
    form = EntryForm(formdata, departments=_departments(), data=data or None)
    return form


def _values(form: EntryForm) -> EntryValues:
    return EntryValues(
        question_ja=form.question_ja.data or "", answer_ja=form.answer_ja.data or "",
        draft_ja=bool(form.draft_ja.data), question_en=form.question_en.data or "",
        answer_en=form.answer_en.data or "", draft_en=bool(form.draft_en.data),
        department_id=form.department_id.data or None,
        service_ids=list(form.service_ids.data or []), review_on=form.review_on.data)


def _editor(form: EntryForm, entry: FaqEntry | None, status: int = 200, *,
            source: Post | None = None, review_form: ReviewForm | None = None):
    context = {"form": form, "entry": entry, "source": source, "source_url": post_url(source)}
    if entry is not None:
        context.update(
            review_form=review_form or ReviewForm(formdata=None),
            state=review.review_state(entry), task=review.open_review_task(entry),
            REVIEW_STATE_LABELS=REVIEW_STATE_LABELS, STATUS_LABELS=STATUS_LABELS,
            source_url=post_url(entry.source_post))
    return render_and_commit("faq/admin/edit.html", **context), status


def _refused(message: str, form: EntryForm, entry_id: int | None, source_id: int | None):
    db.session.rollback()
    flash(message, "error")
    entry = db.session.get(FaqEntry, entry_id) if entry_id else None
    source = db.session.get(Post, source_id) if source_id else None
    return _editor(form, entry, 400, source=source)


def _source_post(raw) -> Post | None:
    """The post named by ``from_post`` (None when none is named); FaqError when it
    cannot be promoted."""
    if raw in (None, ""):
        return None
    try:
        post = db.session.get(Post, int(raw))
    except (TypeError, ValueError, OverflowError):
        post = None
    return operations.check_promotable(post)


@admin_bp.route("/new", methods=["GET", "POST"])
@permission_required(can_edit_faq)
def new():
    raw = request.form.get("from_post") if request.method == "POST" \
        else request.args.get("from_post")
    try:
        source = _source_post(raw)
    except FaqError as error:
        flash(str(error), "error")
        return redirect(url_for("faq_admin.new"))
    if request.method == "GET":
        if source is not None:
            values = operations.promotion_values(source, current_user)
            data = {**vars(values), "from_post": str(source.id)}
        else:
            data = {"department_id": current_user.department_id or 0}
        data["review_on"] = operations.default_review_on()
        return _editor(_form(**data), None, source=source)
    form = _form(request.form)
    if not form.validate():
        return _editor(form, None, 400, source=source)
    try:
        entry = operations.create_entry(_values(form), actor=current_user,
                                        note=form.note.data, source_post=source)
    except FaqError as error:
        return _refused(str(error), form, None, source.id if source else None)
    db.session.commit()
    flash(_("The entry is published in the FAQ.") if source is None
          else _("The answer is promoted to the FAQ."), "success")
    return redirect(url_for("faq_admin.edit", entry_id=entry.id))


@admin_bp.route("/<int:entry_id>", methods=["GET", "POST"])
@permission_required(can_edit_faq)
def edit(entry_id: int):
    entry = _load(entry_id)
    if request.method == "GET":
        form = _form(question_ja=entry.question_ja, answer_ja=entry.answer_ja,
                     draft_ja=entry.draft_ja, question_en=entry.question_en,
                     answer_en=entry.answer_en, draft_en=entry.draft_en,
                     department_id=entry.department_id,
                     service_ids=operations.service_ids(entry), review_on=entry.review_on)
        return _editor(form, entry)
    form = _form(request.form)
    if not form.validate():
        return _editor(form, entry, 400)
    try:
        operations.update_entry(entry, _values(form), actor=current_user, note=form.note.data)
    except FaqError as error:
        return _refused(str(error), form, entry_id, None)
    db.session.commit()
    flash(_("The entry is saved (version %(n)s).", n=entry.version), "success")
    return redirect(url_for("faq_admin.edit", entry_id=entry.id))


def _action(entry_id: int, act, message):
    entry = _load(entry_id)
    try:
        act(entry)
    except FaqError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("faq_admin.edit", entry_id=entry_id))
    db.session.commit()
    flash(message(entry), "success")
    return redirect(url_for("faq_admin.edit", entry_id=entry_id))


@admin_bp.post("/<int:entry_id>/review")
@permission_required(can_edit_faq)
def mark_reviewed(entry_id: int):
    entry = _load(entry_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        db.session.rollback()
        flash(next((errors[0] for errors in form.errors.values()), None)
              or _("The form had expired. Please try again."), "error")
        return redirect(url_for("faq_admin.edit", entry_id=entry.id))
    return _action(entry_id, lambda e: operations.mark_reviewed(
        e, actor=current_user, review_on=form.review_on.data, note=form.note.data),
        lambda e: _("The entry is marked reviewed; the next review is on %(date)s.",
                    date=format_date(e.review_on)))


@admin_bp.post("/<int:entry_id>/archive")
@permission_required(can_edit_faq)
def archive(entry_id: int):
    return _action(entry_id, lambda e: operations.archive_entry(e, actor=current_user),
                   lambda e: _("The entry is archived: it is no longer in the public FAQ."))


@admin_bp.post("/<int:entry_id>/restore")
@permission_required(can_edit_faq)
def restore(entry_id: int):
    return _action(entry_id, lambda e: operations.restore_entry(e, actor=current_user),
                   lambda e: _("The entry is back in the public FAQ."))


# -- versions ---------------------------------------------------------------------------

@admin_bp.get("/<int:entry_id>/versions")
@permission_required(can_edit_faq)
def versions(entry_id: int):
    entry = _load(entry_id)
    rows = db.session.scalars(select(FaqVersion).where(FaqVersion.entry_id == entry.id)
                              .options(joinedload(FaqVersion.changed_by))
                              .order_by(FaqVersion.version.desc())).all()
    return render_and_commit("faq/admin/versions.html", entry=entry, versions=rows,
                             VERSION_ACTION_LABELS=VERSION_ACTION_LABELS)


def _shown(name: str, value, names: dict) -> str:
    """A snapshot's value in words."""
    if name in ("draft_ja", "draft_en"):
        return _("Yes") if value else _("No")
    if name == "department_id":
        return names["departments"].get(value, "—")
    if name == "service_ids":
        return " · ".join(names["services"].get(i, "—") for i in value or []) or "—"
    if name == "status":
        return str(STATUS_LABELS.get(value, value))
    if name == "review_on" and value:
        return format_date(date.fromisoformat(value))
    if name == "source_post_id":
        return _("Community post %(n)s", n=value) if value else "—"
    return "" if value is None else str(value)


@admin_bp.get("/<int:entry_id>/versions/<int:number>")
@permission_required(can_edit_faq)
def version(entry_id: int, number: int):
    entry = _load(entry_id)
    this = db.first_or_404(select(FaqVersion).where(FaqVersion.entry_id == entry.id,
                                                    FaqVersion.version == number))
    previous = db.session.scalar(
        select(FaqVersion).where(FaqVersion.entry_id == entry.id,
                                 FaqVersion.version < number)
        .order_by(FaqVersion.version.desc()).limit(1))
    names = {"departments": {d.id: localized(d, "name")
                             for d in db.session.scalars(select(Department))},
             "services": {s.id: localized(s, "name")
                          for s in db.session.scalars(select(Service))}}
    rows = []
    for name, label in FIELD_LABELS.items():
        now = this.snapshot.get(name)
        before = previous.snapshot.get(name) if previous is not None else None
        rows.append({"label": label, "value": _shown(name, now, names),
                     "before": _shown(name, before, names) if previous is not None else None,
                     "changed": previous is not None and now != before,
                     "long": name.startswith("answer_")})
    return render_and_commit("faq/admin/version.html", entry=entry, version=this,
                             previous=previous, rows=rows,
                             VERSION_ACTION_LABELS=VERSION_ACTION_LABELS)


# -- synonyms ---------------------------------------------------------------------------

@admin_bp.get("/synonyms")
@permission_required(can_manage_synonyms)
def synonyms_list():
    groups = db.session.scalars(select(SynonymGroup).order_by(
        func.lower(SynonymGroup.terms), SynonymGroup.id)).all()
    return render_and_commit("faq/admin/synonyms.html", groups=groups)


def _synonym_editor(form: SynonymForm, group: SynonymGroup | None, status: int = 200):
    return render_and_commit("faq/admin/synonym_form.html", form=form, group=group), status


@admin_bp.route("/synonyms/new", methods=["GET", "POST"])
@permission_required(can_manage_synonyms)
def synonym_new():
    form = SynonymForm(request.form if request.method == "POST" else None)
    if request.method == "GET":
        return _synonym_editor(form, None)
    if not form.validate():
        return _synonym_editor(form, None, 400)
    try:
        synonyms.create_group(form.terms.data, actor=current_user, note=form.note.data)
    except FaqError as error:
        db.session.rollback()
        form.terms.errors = [str(error)]
        return _synonym_editor(form, None, 400)
    db.session.commit()
    flash(_("The synonym group is saved: searches use it from now on."), "success")
    return redirect(url_for("faq_admin.synonyms_list"))


@admin_bp.route("/synonyms/<int:group_id>", methods=["GET", "POST"])
@permission_required(can_manage_synonyms)
def synonym_edit(group_id: int):
    group = db.get_or_404(SynonymGroup, group_id)
    if request.method == "GET":
        return _synonym_editor(SynonymForm(formdata=None, obj=group), group)
    form = SynonymForm(request.form)
    if not form.validate():
        return _synonym_editor(form, group, 400)
    try:
        synonyms.update_group(group, form.terms.data, actor=current_user, note=form.note.data)
    except FaqError as error:
        db.session.rollback()
        form.terms.errors = [str(error)]
        return _synonym_editor(form, db.session.get(SynonymGroup, group_id), 400)
    db.session.commit()
    flash(_("The synonym group is saved: searches use it from now on."), "success")
    return redirect(url_for("faq_admin.synonyms_list"))


@admin_bp.post("/synonyms/<int:group_id>/delete")
@permission_required(can_manage_synonyms)
def synonym_delete(group_id: int):
    group = db.get_or_404(SynonymGroup, group_id)
    synonyms.delete_group(group, actor=current_user)
    db.session.commit()
    flash(_("The synonym group is deleted."), "success")
    return redirect(url_for("faq_admin.synonyms_list"))
