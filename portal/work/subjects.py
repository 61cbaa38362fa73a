"""What a task is about when it is not a case (``Task.subject_type``): the feature
that makes such tasks registers a word for them and the page where the work is
done, so My work can name and link them without knowing the feature::

    subjects.register("faq_entry", _l("FAQ review"), "faq_admin.edit", "entry_id")
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for


@dataclass(frozen=True)
class Subject:
    label: object  # a lazy string
    endpoint: str
    id_arg: str


SUBJECTS: dict[str, Subject] = {}


def register(subject_type: str, label, endpoint: str, id_arg: str) -> None:
    SUBJECTS[subject_type] = Subject(label, endpoint, id_arg)


def subject_link(task) -> tuple[str, str] | None:
    """``(word, url)`` of a task's subject, or None (a case's task, or an unknown type)."""
    subject = SUBJECTS.get(task.subject_type or "")
    if subject is None or task.subject_id is None:
        return None
    return str(subject.label), url_for(subject.endpoint, **{subject.id_arg: task.subject_id})
