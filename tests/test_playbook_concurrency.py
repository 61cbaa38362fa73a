"""Two workers evaluating the same playbook at once open each case exactly once and
run each step once (PostgreSQL: the partial unique index decides the opening, an
advisory lock the steps).

The workers need committed data and connections of their own, so this runs outside
the suite's per-test transaction (marker ``live``) on a database of its own, dropped
afterwards. It needs PostgreSQL (SQLite serialises writers anyway): it runs in the
suite's PostgreSQL pass (``scripts/run-tests.sh``, which under CI fails when that pass
cannot run) and is skipped in the SQLite pass.
"""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import func, select

from portal.extensions import db

ON_POSTGRES = os.environ.get("PORTAL_TEST_DATABASE_URL", "").startswith("postgresql")

pytestmark = [pytest.mark.live, pytest.mark.skipif(
    not ON_POSTGRES, reason="runs in the PostgreSQL pass (PORTAL_TEST_DATABASE_URL)")]

RESIDENTS = 200
WORKERS = 2


@pytest.fixture
def own_app(tmp_path):
    from tests.test_concurrency import own_live_app

    yield from own_live_app(tmp_path)


def test_two_workers_open_each_case_once(own_app):
    from portal.playbooks.evaluation import evaluate
    from portal.playbooks.models import Case, Playbook
    from portal.services.catalogue import load_catalogue
    from portal.services.models import Department
    from portal.work.models import Task
    from tests import factories
    from tests import playbook_factories as pf

    with own_app.app_context():
        load_catalogue()
        library = db.session.scalar(select(Department).where(Department.code == "library"))
        book = pf.playbook(library, holdout_percent=10)
        for _ in range(RESIDENTS):
            pf.score(factories.resident(), "library-loans", "red")
        db.session.commit()
        book_id = book.id
    barrier = threading.Barrier(WORKERS)
    runs, errors = [], []

    def work() -> None:
        with own_app.app_context():
            try:
                target = db.session.get(Playbook, book_id)
                db.session.commit()  # both have read; the race starts here
                barrier.wait(timeout=10)
                runs.extend(evaluate(playbooks=[target]))
            except Exception as error:  # noqa: BLE001 — reported below
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with own_app.app_context():
        per_resident = db.session.execute(select(Case.resident_id, func.count())
                                          .where(Case.playbook_id == book_id)
                                          .group_by(Case.resident_id)).all()
        held = db.session.scalar(select(func.count()).select_from(Case).where(
            Case.held_out.is_(True)))
        task_count = db.session.scalar(select(func.count()).select_from(Task))
        per_case = db.session.execute(select(Task.case_id, func.count())
                                      .group_by(Task.case_id)).all()
    assert len(per_resident) == RESIDENTS and {n for _, n in per_resident} == {1}
    assert sum(run.opened for run in runs) == RESIDENTS
    assert sorted(run.opened for run in runs)[0] == 0 or len(runs) == WORKERS
    assert task_count == RESIDENTS - held and {n for _, n in per_case} == {1}
