"""Official answers on the public community blueprint: staff of a tagged service's
department answer a question, edit their department's answer, mark it reviewed.
The forms sit on the question page (``_question_staff.html``, ``_post_tools_staff.html``);
a form sent with a mistake is shown again on a page of its own, nothing lost."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.community import bp, official
from portal.community import digest as _digest  # noqa: F401  (follow notifications)
from portal.community.models import Post, Revision
from portal.community.staff_forms import EditOfficialAnswerForm, OfficialAnswerForm
from portal.extensions import db
from portal.forms import EmptyForm
from portal.permissions import (
    can_answer_officially,
    can_edit_official_answer,
    permission_required,
)


@bp.app_context_processor
def official_answer_helpers():
    def official_answer_form(question: Post) -> OfficialAnswerForm:
        form = OfficialAnswerForm(formdata=None, lang=question.lang)
        return form.for_departments(official.answer_departments(current_user, question))

    return {"official_answer_form": official_answer_form, "question_url": question_url}


def question_url(question_id: int, *, anchor: str | None = None) -> str:
    return url_for("community.question", question_id=question_id, _anchor=anchor)


def _question_or_404(question_id: int) -> Post:
    question = db.get_or_404(Post, question_id)
    if not question.is_question:
        abort(404)
    return question


@bp.post("/questions/<int:question_id>/official")
@permission_required(can_answer_officially)
def official_answer(question_id: int):
    question = _question_or_404(question_id)
    if not can_answer_officially(current_user, question):
        abort(403)
    departments = official.answer_departments(current_user, question)
    form = OfficialAnswerForm().for_departments(departments)
    if form.validate_on_submit():
        try:
            answer = official.give_official_answer(
                question, current_user, form.body.data,
                department_id=form.department_id.data or None, lang=form.lang.data,
                submission_key=form.submission_key.data)
            db.session.commit()
        except official.OfficialAnswerError as error:
            db.session.rollback()
            form.body.errors.append(str(error))
        except IntegrityError:  # the same form sent twice at once: the first one stands
            db.session.rollback()
            flash(_("The official answer has been posted."), "success")
            return redirect(question_url(question.id))
        else:
            flash(_("The official answer has been posted."), "success")
            return redirect(question_url(question.id, anchor=f"post-{answer.id}"))
    return render_template("community/official_answer.html", form=form, question=question,
                           departments=departments, question_link=question_url(question.id)), 400


def _official_or_404(post_id: int) -> Post:
    post = official.official_answer_of(post_id)
    if post is None:
        abort(404)
    if not can_edit_official_answer(current_user, post):
        abort(403)
    return post


@bp.route("/posts/<int:post_id>/official", methods=["GET", "POST"])
@permission_required(can_edit_official_answer)
def edit_official(post_id: int):
    post = _official_or_404(post_id)
    form = EditOfficialAnswerForm(obj=post)
    status = 200
    if form.validate_on_submit():
        try:
            changed = official.edit_official_answer(post, current_user, form.body.data)
            db.session.commit()
        except official.OfficialAnswerError as error:
            db.session.rollback()
            form.body.errors.append(str(error))
        else:
            flash(_("The official answer has been changed.") if changed else
                  _("Nothing was changed."), "success" if changed else "info")
            return redirect(question_url(post.question_id, anchor=f"post-{post.id}"))
    if request.method == "POST":
        status = 400
    revisions = db.session.scalar(select(func.count()).select_from(Revision)
                                  .where(Revision.post_id == post.id))
    return render_template("community/official_edit.html", form=form, post=post,
                           question=post.question, revisions=revisions,
                           question_link=question_url(post.question_id)), status


@bp.post("/posts/<int:post_id>/reviewed")
@permission_required(can_edit_official_answer)
def mark_reviewed(post_id: int):
    post = _official_or_404(post_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    official.mark_reviewed(post, current_user)
    db.session.commit()
    flash(_("The official answer is marked reviewed today."), "success")
    return redirect(question_url(post.question_id, anchor=f"post-{post.id}"))
