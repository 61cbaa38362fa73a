"""Search over community questions, answers and FAQ entries, in Japanese and
English, on SQLite and PostgreSQL.

The interface the rest of the portal uses:

- ``search(query, locale, kinds=("question", "faq"), limit=20, offset=0,
  service_id=None) -> Results`` — the ranked hits and their total;
- ``similar(text, locale, kinds=("question", "faq"), limit=5) -> list[Hit]`` — the
  questions and FAQ entries most like a title being typed (the ask page's
  suggestions, the inquiry form's FAQ suggester);
- a ``Hit`` names the document (``kind``, ``id``; an answer's ``question_id``), its
  title and URL, a highlighted ``snippet`` (``Markup``: the matched terms in
  ``<mark>``, everything else escaped) and the language it is written in.

Only public posts (``published``) and published FAQ entries are ever found.
"""

from portal.search.query import Hit, Results, search, similar

__all__ = ["Hit", "Results", "search", "similar"]
