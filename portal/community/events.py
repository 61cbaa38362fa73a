"""What happens to posts and FAQ entries, for the features that follow it.

Code that changes a post or an entry calls one of the functions below inside its
transaction, after the change is flushed; features subscribe with the decorators
(at import time of their module, which ``portal/app.py`` imports):

- ``post_changed(post)`` — a question or answer was created, edited, published,
  hidden, restored or deleted (the search index follows it);
- ``answer_published(answer)`` — an answer became public (posted by a trusted
  member, approved, or restored): followers are told in their next digest;
- ``faq_changed(entry)`` — an FAQ entry was created, edited, reviewed or archived.

Handlers run in the caller's transaction and must not commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

POST_CHANGED: list[Callable[[Any], None]] = []
ANSWER_PUBLISHED: list[Callable[[Any], None]] = []
FAQ_CHANGED: list[Callable[[Any], None]] = []


def on_post_changed(func: Callable[[Any], None]) -> Callable[[Any], None]:
    POST_CHANGED.append(func)
    return func


def on_answer_published(func: Callable[[Any], None]) -> Callable[[Any], None]:
    ANSWER_PUBLISHED.append(func)
    return func


def on_faq_changed(func: Callable[[Any], None]) -> Callable[[Any], None]:
    FAQ_CHANGED.append(func)
    return func


def post_changed(post) -> None:
    for func in POST_CHANGED:
        func(post)


def answer_published(answer) -> None:
    for func in ANSWER_PUBLISHED:
        func(answer)


def faq_changed(entry) -> None:
    for func in FAQ_CHANGED:
        func(entry)
