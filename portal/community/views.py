"""The residents' side of the community: lists, a question's page, asking, answering,
editing, deleting, voting, accepting, following, and one's community name.

Reading is public; every change needs a signed-in resident and goes through
``portal.community.posting``. A refusal is flashed and nothing typed is lost: a form
with an error is shown again with the text in it.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse_many
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from portal import database
from portal.community import bp, names, posting, reading
from portal.community.forms import AnswerForm, AskForm, CommunityNameForm, EditForm
from portal.community.labels import SORT_LABELS, STATUS_LABELS, STATUS_NOTICES
from portal.community.models import Post, PostKind, PostStatus, Topic
from portal.community.posting import CommunityError
from portal.extensions import db, limiter
from portal.forms import EmptyForm
from portal.i18n_fields import current_locale
from portal.permissions import (
    can_moderate_community,
    can_post_in_community,
    permission_required,
)
from portal.search import similar
from portal.services.models import Service

RATE_NAMESPACE = "community-posts"
SEEN_KEY = "community_seen"
SEEN_MAX = 100
SIMILAR_LIMIT = 5
TEMPLATE_CONTEXT = {"SORT_LABELS": SORT_LABELS, "STATUS_LABELS": STATUS_LABELS,
                    "STATUS_NOTICES": STATUS_NOTICES, "author_name": names.author_name}


# -- rate limit (per account; only posts actually stored count) -----------------------------

def _rate_limits():
    return parse_many(current_app.config["COMMUNITY_POST_RATE_LIMIT"])


def _rate_limited() -> bool:
    return any(not limiter.limiter.test(item, RATE_NAMESPACE, str(current_user.id))
               for item in _rate_limits())


def _count_post() -> None:
    for item in _rate_limits():
        limiter.limiter.hit(item, RATE_NAMESPACE, str(current_user.id))


def _rate_message() -> str:
    return _("You have posted a lot in a short time. Please wait a while before posting "
             "again; what you wrote is kept below.")


def _moderator() -> bool:
    return can_moderate_community(current_user)


def _question_or_404(question_id: int) -> Post:
    question = db.session.get(Post, question_id)
    if question is None or question.kind != PostKind.QUESTION \
            or not reading.visible_to(question, current_user, moderator=_moderator()):
        abort(404)
    return question


def _post_or_404(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None or not reading.visible_to(post, current_user, moderator=_moderator()):
        abort(404)
    if post.question is not None and not reading.visible_to(post.question, current_user,
                                                            moderator=_moderator()):
        abort(404)
    return post


def _to_post(post: Post):
    return redirect(url_for("community.question", question_id=post.thread_id,
                            _anchor=f"post-{post.id}"))


def _posted_message(post: Post, created: bool) -> None:
    if not created:
        flash(_("This was already posted; it is shown below."), "info")
    elif post.status == PostStatus.PENDING:
        flash(_("Thank you. Your first post is waiting for review and becomes public once a "
                "moderator has looked at it."), "info")
    else:
        flash(_("Your question has been posted.") if post.is_question
              else _("Your answer has been posted."), "success")


# -- lists ----------------------------------------------------------------------------------

@bp.get("/")
def index():
    sort = request.args.get("sort", "newest")
    if sort not in reading.SORTS:
        sort = "newest"
    service = topic = None
    if request.args.get("service"):
        service = db.first_or_404(select(Service).where(Service.slug == request.args["service"]))
    if request.args.get("topic"):
        topic = db.first_or_404(select(Topic).where(Topic.slug == request.args["topic"]))
    page = db.paginate(reading.question_list(sort, service, topic), per_page=reading.PER_PAGE,
                       error_out=False)
    reading.preload_names(page.items)
    return render_template("community/index.html", page=page, sort=sort, service=service,
                           topic=topic, **TEMPLATE_CONTEXT)


# -- asking ---------------------------------------------------------------------------------

@bp.route("/ask", methods=["GET", "POST"])
@permission_required(can_post_in_community)
def ask():
    form = AskForm()
    hits = None
    status = 200
    if request.method == "POST":
        valid = form.validate_on_submit()
        checking = bool(form.check.data)
        if checking and "csrf_token" not in form.errors:
            # the check step looks at the title only: the rest may still be unwritten
            for field in form:
                field.errors = []
            valid = True
        if checking or not valid:
            if (form.title.data or "").strip():
                hits = similar(form.title.data, current_locale(), limit=SIMILAR_LIMIT)
            if not valid:
                status = 400
        elif _rate_limited():
            flash(_rate_message(), "error")
            status = 429
        else:
            try:
                post, created = posting.ask(
                    current_user, title=form.title.data, body=form.body.data,
                    lang=form.lang.data, services=form.chosen_services(),
                    topics=form.chosen_topics(), submission_key=form.submission_key.data)
            except CommunityError as error:
                db.session.rollback()
                flash(str(error), "error")
                status = 400
            else:
                db.session.commit()
                if created:
                    _count_post()
                _posted_message(post, created)
                return redirect(url_for("community.question", question_id=post.id))
    else:
        if request.args.get("title"):
            form.title.data = request.args["title"][:posting.TITLE_MAX]
        # from a service page: that service ticked
        if request.args.get("service") in {choice.value for choice in form.services.choices}:
            form.services.data = [request.args["service"]]
    return render_template("community/ask.html", form=form, hits=hits,
                           **TEMPLATE_CONTEXT), status


@bp.get("/similar")
def similar_fragment():
    """The ask page's suggestions as one types (an HTML fragment for static/js)."""
    text = (request.args.get("q") or "").strip()[:posting.TITLE_MAX]
    hits = similar(text, current_locale(), limit=SIMILAR_LIMIT) if len(text) >= 2 else []
    return render_template("community/_similar.html", hits=hits, query=text)


# -- a question -----------------------------------------------------------------------------

def _question_page(question: Post, answer_form: AnswerForm | None = None, status: int = 200):
    moderator = _moderator()
    answers = reading.answers_of(question, current_user, moderator=moderator)
    posts = [question, *answers]
    reading.preload_names(posts)
    html = render_template(
        "community/question.html", question=question, answers=answers,
        votes=reading.own_votes(current_user, posts),
        answer_form=answer_form or AnswerForm(),
        following=posting.is_following(question, current_user),
        may_post=can_post_in_community(current_user), action_form=EmptyForm(),
        **TEMPLATE_CONTEXT)
    if status == 200:
        _count_view(question)
    return html, status


def _count_view(question: Post) -> None:
    """One view per session per question, not the author's, in a short write of its
    own after the page is read (best effort: a busy database costs one view)."""
    if question.status != PostStatus.PUBLISHED or (
            current_user.is_authenticated and question.author_id == current_user.id):
        return
    seen = list(session.get(SEEN_KEY, []))
    if question.id in seen:
        return
    session[SEEN_KEY] = [*seen[-(SEEN_MAX - 1):], question.id]
    try:
        db.session.commit()  # end the read: it wrote nothing
        with database.short_write():
            db.session.execute(update(Post).where(Post.id == question.id)
                               .values(view_count=Post.view_count + 1)
                               .execution_options(synchronize_session=False))
            db.session.commit()
    except OperationalError:
        db.session.rollback()


@bp.get("/questions/<int:question_id>")
def question(question_id: int):
    return _question_page(_question_or_404(question_id))


@bp.post("/questions/<int:question_id>/answer")
@permission_required(can_post_in_community)
def answer(question_id: int):
    question = _question_or_404(question_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _question_page(question, form, 400)
    if _rate_limited():
        flash(_rate_message(), "error")
        return _question_page(question, form, 429)
    try:
        post, created = posting.answer(current_user, question, body=form.body.data,
                                       submission_key=form.submission_key.data)
    except CommunityError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _question_page(question, form, 400)
    db.session.commit()
    if created:
        _count_post()
    _posted_message(post, created)
    return _to_post(post)


# -- the author's changes -------------------------------------------------------------------

@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@permission_required(can_post_in_community)
def edit(post_id: int):
    post = _post_or_404(post_id)
    if post.author_id != current_user.id:
        flash(_("You can only change your own posts."), "error")
        return _to_post(post)
    form = EditForm(obj=post) if request.method == "GET" else EditForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                changed = posting.edit(post, current_user, title=form.title.data,
                                       body=form.body.data)
            except CommunityError as error:
                db.session.rollback()
                flash(str(error), "error")
                status = 400
            else:
                db.session.commit()
                flash(_("Your changes have been saved.") if changed
                      else _("Nothing was changed."), "success" if changed else "info")
                return _to_post(post)
        else:
            status = 400
    return render_template("community/edit.html", form=form, post=post,
                           **TEMPLATE_CONTEXT), status


def _act(action, done: str) -> bool:
    """A one-button action: the CSRF check, the operation, and its message (the
    refusal's, or ``done``); True when it was done."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        action()
    except CommunityError as error:
        db.session.rollback()
        flash(str(error), "error")
        return False
    db.session.commit()
    flash(done, "success")
    return True


@bp.post("/posts/<int:post_id>/delete")
@permission_required(can_post_in_community)
def delete(post_id: int):
    post = _post_or_404(post_id)
    deleted = _act(lambda: posting.delete(post, current_user),
                   _("Your post has been deleted."))
    if deleted and post.is_question:
        return redirect(url_for("community.index"))
    return _to_post(post)


@bp.get("/posts/<int:post_id>/revisions")
def revisions(post_id: int):
    post = _post_or_404(post_id)
    question = post if post.is_question else post.question
    return render_template("community/revisions.html", post=post, question=question,
                           versions=reading.revisions_of(post), **TEMPLATE_CONTEXT)


# -- votes, accepting, following ------------------------------------------------------------

VOTES = {"up": 1, "down": -1, "withdraw": 0}


@bp.post("/posts/<int:post_id>/vote/up", defaults={"direction": "up"})
@bp.post("/posts/<int:post_id>/vote/down", defaults={"direction": "down"})
@bp.post("/posts/<int:post_id>/vote/withdraw", defaults={"direction": "withdraw"})
@permission_required(can_post_in_community)
def vote(post_id: int, direction: str):
    post = _post_or_404(post_id)
    value = VOTES[direction]
    _act(lambda: posting.vote(post, current_user, value),
         {1: _("Your vote up has been counted."), -1: _("Your vote down has been counted."),
          0: _("Your vote has been withdrawn.")}[value])
    return _to_post(post)


def _accept(post: Post) -> None:
    if post.is_question:
        raise CommunityError(_("This answer cannot be accepted."))
    posting.accept(post.question, post, current_user)


@bp.post("/posts/<int:post_id>/accept")
@permission_required(can_post_in_community)
def accept(post_id: int):
    post = _post_or_404(post_id)
    _act(lambda: _accept(post), _("You accepted this answer."))
    return _to_post(post)


@bp.post("/questions/<int:question_id>/unaccept")
@permission_required(can_post_in_community)
def unaccept(question_id: int):
    question = _question_or_404(question_id)
    _act(lambda: posting.unaccept(question, current_user),
         _("No answer is accepted now."))
    return _to_post(question)


@bp.post("/questions/<int:question_id>/follow")
@permission_required(can_post_in_community)
def follow(question_id: int):
    question = _question_or_404(question_id)
    _act(lambda: posting.follow(question, current_user),
         _("You follow this question: new answers come in your daily e-mail digest."))
    return _to_post(question)


@bp.post("/questions/<int:question_id>/unfollow")
@permission_required(can_post_in_community)
def unfollow(question_id: int):
    question = _question_or_404(question_id)
    _act(lambda: posting.unfollow(question, current_user),
         _("You no longer follow this question."))
    return _to_post(question)


# -- the community name ---------------------------------------------------------------------

@bp.route("/name", methods=["GET", "POST"])
@permission_required(can_post_in_community)
def name_settings():
    member = db.session.get(posting.Member, current_user.id)
    form = CommunityNameForm(obj=member) if request.method == "GET" else CommunityNameForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                changed = posting.set_community_name(current_user, form.public_name.data,
                                                     form.show_own_name.data)
            except CommunityError as error:
                db.session.rollback()
                form.public_name.errors = [*form.public_name.errors, str(error)]
                status = 400
            else:
                db.session.commit()
                flash(_("Your community name has been saved.") if changed
                      else _("Nothing was changed."), "success" if changed else "info")
                return redirect(url_for("community.name_settings"))
        else:
            status = 400
    return render_template("community/name.html", form=form,
                           shown_as=names.author_name(current_user), **TEMPLATE_CONTEXT), status
