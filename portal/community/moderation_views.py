"""Moderation: the report (flag) under each post (/community/posts/<id>/flag), the
moderation queue and its decisions, a member's history and silencing, and the
topics (/admin/community/...). Every change goes through
``portal.community.moderation``; a refusal is flashed and nothing is kept."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.auth.models import Role, User
from portal.community import admin_bp, bp, moderation, moderation_queue
from portal.community.models import Member, Post, PostStatus, Topic
from portal.community.moderation import ModerationError
from portal.community.moderation_forms import (
    ApproveForm,
    DeleteForm,
    FlagForm,
    HideForm,
    RestoreForm,
    SilenceForm,
    TopicForm,
    UnsilenceForm,
)
from portal.community.moderation_labels import (
    FLAG_REASON_LABELS,
    MODERATION_ACTION_LABELS,
    POST_KIND_LABELS,
    POST_STATUS_LABELS,
)
from portal.community.names import author_name
from portal.extensions import db
from portal.permissions import can_flag_posts, can_moderate_community, permission_required
from portal.rendering import render_and_commit
from portal.timeutil import utcnow


def shown_name(user: User | None) -> str:
    """The name the community shows for the author (moderators see the account's own
    name beside it, labelled)."""
    return author_name(user)


@admin_bp.app_context_processor
def moderation_labels() -> dict:
    return {"FLAG_REASON_LABELS": FLAG_REASON_LABELS,
            "MODERATION_ACTION_LABELS": MODERATION_ACTION_LABELS,
            "POST_STATUS_LABELS": POST_STATUS_LABELS, "POST_KIND_LABELS": POST_KIND_LABELS,
            "moderation_shown_name": shown_name,
            "MODERATION_REPEAT_DAYS": moderation.REPEAT_DAYS}


# -- under each post on the question page -----------------------------------------------

@bp.app_template_global()
def moderation_flag_form(post: Post) -> FlagForm:
    return FlagForm(formdata=None, post_id=post.id)


@bp.app_template_global()
def moderation_flagged(post: Post) -> bool:
    """Has the viewer reported this post? One query for the whole question page."""
    if not current_user.is_authenticated:
        return False
    cache = g.setdefault("moderation_flagged", {})
    thread = post.thread_id
    if thread not in cache:
        thread_posts = select(Post.id).where((Post.id == thread) | (Post.question_id == thread))
        cache[thread] = moderation.flagged_by(current_user, thread_posts)
    return post.id in cache[thread]


@bp.app_template_global()
def moderation_waiting() -> int:
    """Posts waiting for review plus reported ones (the console's navigation)."""
    if "moderation_waiting" not in g:
        g.moderation_waiting = (sum(moderation_queue.waiting_counts())
                                if can_moderate_community(current_user) else 0)
    return g.moderation_waiting


@bp.app_template_global("moderation_post_url")
def _question_url(post: Post) -> str:
    """The question page at the post (the page is helper "posting"'s)."""
    return url_for("community.question", question_id=post.thread_id, _anchor=f"post-{post.id}")


@bp.post("/posts/<int:post_id>/flag")
@permission_required(can_flag_posts)
def flag_post(post_id: int):
    # locked until the commit (PostgreSQL): reports arriving together count one by one
    post = db.session.get(Post, post_id, with_for_update=True)
    if post is None:
        abort(404)
    form = FlagForm(post_id=post.id)
    if not form.validate_on_submit():
        db.session.rollback()
        errors = [e for f in form if f.errors for e in f.errors]
        flash(str(errors[0]) if errors else _("The form had expired. Please try again."),
              "error")
        return redirect(_question_url(post))
    try:
        moderation.flag_post(post, user=current_user, reason=form.reason.data,
                             note=form.note.data)
    except ModerationError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(_question_url(post))
    hidden = post.status == PostStatus.HIDDEN
    db.session.commit()
    flash(_("Thank you for your report. A moderator will look at this post.") if not hidden
          else _("Thank you for your report. The post has been hidden until a moderator "
                 "reviews it."), "success")
    return redirect(_question_url(post))


# -- the queue ----------------------------------------------------------------------------

@admin_bp.get("/moderation", endpoint="moderation")
@permission_required(can_moderate_community)
def queue_page():
    data = moderation_queue.queue()
    forms = {}
    for item in data.pending + data.reported:
        post_id = item.post.id
        forms[post_id] = {"approve": ApproveForm(formdata=None, post_id=post_id),
                          "restore": RestoreForm(formdata=None, post_id=post_id),
                          "hide": HideForm(formdata=None, post_id=post_id),
                          "delete": DeleteForm(formdata=None, post_id=post_id)}
    return render_and_commit("community/moderation/queue.html", queue=data, forms=forms,
                             now=utcnow())


DECISIONS = {
    "approve": (ApproveForm, lambda post, form: moderation.approve(
        post, moderator=current_user),
        lambda: _("The post is public now; the member's later posts will be public at once.")),
    "restore": (RestoreForm, lambda post, form: moderation.restore(
        post, moderator=current_user, reason=form.reason.data),
        lambda: _("The post is public and its reports are closed.")),
    "hide": (HideForm, lambda post, form: moderation.hide(
        post, moderator=current_user, reason=form.reason.data),
        lambda: _("The post is hidden. Its author sees your reason.")),
    "delete": (DeleteForm, lambda post, form: moderation.delete(
        post, moderator=current_user, reason=form.reason.data),
        lambda: _("The post is deleted. Its author sees your reason.")),
}


def _decide(post_id: int, action: str):
    post = db.session.get(Post, post_id, with_for_update=True)
    if post is None:
        abort(404)
    form_class, act, done = DECISIONS[action]
    form = form_class(post_id=post.id)
    if not form.validate_on_submit():
        db.session.rollback()
        errors = [e for f in form if f.errors for e in f.errors]
        flash(str(errors[0]) if errors else _("The form had expired. Please try again."),
              "error")
        return redirect(url_for("community_admin.moderation") + f"#item-{post.id}")
    try:
        act(post, form)
    except ModerationError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("community_admin.moderation") + f"#item-{post.id}")
    db.session.commit()
    flash(done(), "success")
    return redirect(url_for("community_admin.moderation"))


@admin_bp.post("/posts/<int:post_id>/approve")
@permission_required(can_moderate_community)
def approve(post_id: int):
    return _decide(post_id, "approve")


@admin_bp.post("/posts/<int:post_id>/restore")
@permission_required(can_moderate_community)
def restore(post_id: int):
    return _decide(post_id, "restore")


@admin_bp.post("/posts/<int:post_id>/hide")
@permission_required(can_moderate_community)
def hide(post_id: int):
    return _decide(post_id, "hide")


@admin_bp.post("/posts/<int:post_id>/delete")
@permission_required(can_moderate_community)
def delete(post_id: int):
    return _decide(post_id, "delete")


# -- a member: history and silencing ------------------------------------------------------

def _load_member_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.role != Role.RESIDENT:
        abort(404)
    return user


def _render_member(user: User, silence_form: SilenceForm | None = None, code: int = 200):
    now = utcnow()
    page = render_template(
        "community/moderation/member.html", person=user,
        history=moderation_queue.history(user, now=now), now=now,
        silenced=moderation.is_silenced(db.session.get(Member, user.id), now),
        silence_form=silence_form or SilenceForm(formdata=None),
        unsilence_form=UnsilenceForm(formdata=None))
    db.session.commit()
    return page, code


@admin_bp.get("/members/<int:user_id>")
@permission_required(can_moderate_community)
def member(user_id: int):
    return _render_member(_load_member_user(user_id))


@admin_bp.post("/members/<int:user_id>/silence")
@permission_required(can_moderate_community)
def silence(user_id: int):
    user = _load_member_user(user_id)
    form = SilenceForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return _render_member(user, form, 400)
    try:
        member = moderation.silence(user, moderator=current_user, days=form.days.data,
                                    reason=form.reason.data)
    except ModerationError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _render_member(user, form, 400)
    text = moderation.silence_text(member)
    db.session.commit()
    flash(_("%(name)s cannot post now. %(until)s.", name=shown_name(user), until=text),
          "success")
    return redirect(url_for("community_admin.member", user_id=user.id))


@admin_bp.post("/members/<int:user_id>/unsilence")
@permission_required(can_moderate_community)
def unsilence(user_id: int):
    user = _load_member_user(user_id)
    if not UnsilenceForm().validate_on_submit():
        abort(400)
    try:
        moderation.unsilence(user, moderator=current_user)
    except ModerationError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The silence is lifted: %(name)s can post again.", name=shown_name(user)),
              "success")
    return redirect(url_for("community_admin.member", user_id=user.id))


# -- topics ---------------------------------------------------------------------------------

@admin_bp.get("/topics")
@permission_required(can_moderate_community)
def topics():
    items = db.session.scalars(select(Topic).order_by(Topic.active.desc(), Topic.slug)).all()
    return render_and_commit("community/moderation/topics.html", topics=items)


def _topic_values(form: TopicForm) -> moderation.TopicValues:
    return moderation.TopicValues(slug=form.slug.data, name_ja=form.name_ja.data,
                                  name_en=form.name_en.data, active=form.active.data)


def _topic_form_page(form: TopicForm, topic: Topic | None, code: int = 200):
    return render_template("community/moderation/topic_form.html", form=form,
                           topic=topic), code


@admin_bp.route("/topics/new", methods=["GET", "POST"])
@permission_required(can_moderate_community)
def topic_new():
    form = TopicForm()
    if form.validate_on_submit():
        try:
            topic = moderation.create_topic(_topic_values(form), actor=current_user)
        except ModerationError as error:
            db.session.rollback()
            form.slug.errors = [*form.slug.errors, str(error)]
            return _topic_form_page(form, None, 400)
        db.session.commit()
        flash(_("The topic “%(name)s” was created.", name=topic.name), "success")
        return redirect(url_for("community_admin.topics"))
    return _topic_form_page(form, None)


@admin_bp.route("/topics/<int:topic_id>", methods=["GET", "POST"])
@permission_required(can_moderate_community)
def topic_edit(topic_id: int):
    topic = db.get_or_404(Topic, topic_id)
    form = TopicForm(obj=topic)
    if form.validate_on_submit():
        try:
            changed = moderation.update_topic(topic, _topic_values(form), actor=current_user)
        except ModerationError as error:
            db.session.rollback()
            form.slug.errors = [*form.slug.errors, str(error)]
            return _topic_form_page(form, topic, 400)
        db.session.commit()
        flash(_("The topic “%(name)s” was saved.", name=topic.name) if changed
              else _("Nothing was changed."), "success")
        return redirect(url_for("community_admin.topics"))
    return _topic_form_page(form, topic)
