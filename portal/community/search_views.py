"""The public search page: questions, answers and FAQ entries (``/community/search``)."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import get_locale

from portal.community import bp
from portal.community.search_forms import KIND_CHOICES, SearchForm
from portal.pagination import RowPage
from portal.search import search as run_search
from portal.search.labels import RESULT_KINDS
from portal.search.query import MAX_QUERY_CHARS

PER_PAGE = 20
#: the last page one may ask for (deep pages cost the most and nobody reads them)
MAX_PAGE = 50


def ask_url() -> str:
    return url_for("community.ask")


@bp.get("/search")
def search():
    form = SearchForm(request.args)
    query = (form.q.data or "").strip()
    results, problem = None, None
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    if not query:
        problem = "empty"
    elif not form.validate():
        problem = "invalid"
    else:
        service = form.services.get(form.service.data or "")
        results = run_search(query, str(get_locale() or "ja"),
                             kinds=KIND_CHOICES.get(form.kind.data or "", KIND_CHOICES[""]),
                             limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
                             service_id=service.id if service else None)
    pages = RowPage(items=results.hits, page=page, per_page=PER_PAGE,
                    total=min(results.total, MAX_PAGE * PER_PAGE)) if results else None
    return render_template("community/search.html", form=form, query=query, results=results,
                           problem=problem, pagination=pages, kinds=RESULT_KINDS,
                           ask_url=ask_url(), first=(page - 1) * PER_PAGE + 1,
                           max_chars=MAX_QUERY_CHARS)
