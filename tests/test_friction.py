"""The friction measure of the engagement score: the resident's pending and overdue
inquiries about the service, by hand and against the reference model, on whichever
database runs the suite; its explanation; the score of 30 days ago and the
calibration's friction as of the snapshot day."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from portal.engagement import explain, scoring
from portal.engagement.models import EngagementScore
from portal.extensions import db
from portal.inquiries import friction as signals
from portal.inquiries import operations
from portal.inquiries.models import Inquiry, InquiryStatus
from portal.services.models import UsageEvent
from portal.timeutil import local_today, utcnow
from tests import factories
from tests.inquiry_factories import inquiry
from tests.test_scoring import DAY, END, set_interval, use

EN = {"Accept-Language": "en"}


def score_of(who, slug) -> EngagementScore:
    return db.session.get(EngagementScore, {"resident_id": who.id,
                                            "service_id": factories.service(slug).id})


def at(days_before_end: float) -> datetime:
    return END - timedelta(days=days_before_end)


def asked(who, *, days_before_end: float, slug: str = "library-loans", status: str = "open",
          overdue: bool = False, resolved_days_before_end: float | None = None,
          merged_into: Inquiry | None = None) -> Inquiry:
    """An inquiry received ``days_before_end`` before T, in ``status``; overdue at T
    or not (its first-response due time before T, or after it), resolved at the
    given time (for a resolved or closed one)."""
    item = inquiry(resident=who, service=slug, received_at=at(days_before_end))
    item.status = status
    if overdue:
        item.first_response_due_at = at(0.5)
    else:
        item.first_response_due_at = at(-3)
        item.resolution_due_at = at(-10)
    item.due_at = item.first_response_due_at if status in signals.PENDING else None
    if resolved_days_before_end is not None:
        item.resolved_at = at(resolved_days_before_end)
        if status == InquiryStatus.CLOSED:
            item.closed_at = item.resolved_at
    item.merged_into = merged_into
    db.session.flush()
    return item


def test_friction_by_hand():
    assert explain.friction(0, 0) == 100
    assert explain.friction(1, 0) == 75
    assert explain.friction(2, 1) == 25
    assert explain.friction(3, 1) == 0
    assert explain.friction(4, 0) == 0
    assert explain.friction(4, 4) == 0  # floored


def test_residents_without_inquiries_score_exactly_as_before(catalogue):
    set_interval("library-loans", 30)
    who, other = factories.resident(), factories.resident()
    use(who, "library-loans", days_before_end=45)
    use(other, "library-loans", days_before_end=45)
    asked(other, days_before_end=5)  # the service now has a friction row: who still has none
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert (s.friction, s.inquiries_pending, s.inquiries_overdue) == (100.0, 0, 0)
    assert s.score == pytest.approx(59.8958, abs=1e-4)  # test_scoring's hand-computed score
    assert score_of(other, "library-loans").friction == 75.0


def test_pending_and_overdue_inquiries_lower_friction(catalogue):
    set_interval("library-loans", 30)
    who = factories.resident()
    use(who, "library-loans", days_before_end=45)
    asked(who, days_before_end=5, status="new", overdue=True)
    asked(who, days_before_end=20, status="waiting")
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert (s.friction, s.inquiries_pending, s.inquiries_overdue) == (25.0, 2, 1)
    # (35·75 + 35·33.33 + 10·25) / 80
    assert s.score == pytest.approx(round((35 * 75 + 35 * 100 / 3 + 10 * 25) / 80, 4))
    with force_locale("en"):
        assert explain.friction_text(2, 1, 90) == (
            "Friction: 2 open inquiries, 1 of them overdue (received in the last 90 days): "
            "−75.")


def test_what_does_not_count(catalogue, users):
    set_interval("library-loans", 30)
    who, them = factories.resident(), factories.resident()
    use(who, "library-loans", days_before_end=45)
    asked(who, days_before_end=10, status="resolved", overdue=True, resolved_days_before_end=2)
    asked(who, days_before_end=10, status="closed", resolved_days_before_end=1)
    kept = asked(who, days_before_end=12, status="open")
    asked(who, days_before_end=11, status="closed", overdue=True, resolved_days_before_end=3,
          merged_into=kept)  # a merged duplicate
    asked(who, days_before_end=91, status="open", overdue=True)  # before the 90-day window
    asked(who, days_before_end=-1, status="new")  # after T
    asked(who, days_before_end=3, slug="waste-sorting-app")  # another service
    asked(them, days_before_end=3)  # someone else's
    unidentified = inquiry(resident=None, received_at=at(3))  # an unidentified caller
    assert unidentified.resident_id is None
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert (s.friction, s.inquiries_pending, s.inquiries_overdue) == (75.0, 1, 0)


def test_resolved_after_t_was_still_pending_at_t(catalogue):
    """The day that just ended is scored as it ended: an inquiry resolved since still
    counted then (a filled-in day of history alike)."""
    who = factories.resident()
    use(who, "library-loans", days_before_end=3)
    asked(who, days_before_end=5, status="resolved", overdue=True,
          resolved_days_before_end=-0.25)
    scoring.recompute(DAY)
    assert (score_of(who, "library-loans").inquiries_pending,
            score_of(who, "library-loans").inquiries_overdue) == (1, 1)


def test_the_floor_at_zero_with_four_or_more(catalogue):
    who = factories.resident()
    use(who, "library-loans", days_before_end=3)
    for n in range(5):
        asked(who, days_before_end=2 + n, overdue=n < 2)
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert (s.friction, s.inquiries_pending, s.inquiries_overdue) == (0.0, 5, 2)
    with force_locale("en"):
        assert explain.friction_text(5, 2, 90) == (
            "Friction: 5 open inquiries, 2 of them overdue (received in the last 90 days): "
            "−175, so 0, the lowest.")
        assert explain.friction_text(1, 0, 365) == (
            "Friction: 1 open inquiry, none overdue (received in the last 365 days): −25.")
        assert explain.friction_text(0, 0, 90) == (
            "Friction: no open inquiries about this service received in the last 90 days: "
            "100.")


def test_the_window_follows_the_service_interval(catalogue):
    set_interval("tax-certificate", 365)  # window 365 days
    who = factories.resident()
    use(who, "tax-certificate", days_before_end=3)
    use(who, "library-loans", days_before_end=3)
    asked(who, slug="tax-certificate", days_before_end=200)
    asked(who, slug="library-loans", days_before_end=200)  # 90-day window: out
    scoring.recompute(DAY)
    assert score_of(who, "tax-certificate").inquiries_pending == 1
    assert score_of(who, "library-loans").inquiries_pending == 0


def test_the_first_response_ends_the_first_due_time(catalogue):
    who = factories.resident()
    use(who, "library-loans", days_before_end=3)
    item = asked(who, days_before_end=20, overdue=True)  # first response due 0.5 d before T
    item.first_response_at = at(19)  # answered in time
    item.resolution_due_at = at(-2)  # the resolution is due after T
    db.session.flush()
    scoring.recompute(DAY)
    assert (score_of(who, "library-loans").inquiries_pending,
            score_of(who, "library-loans").inquiries_overdue) == (1, 0)


def test_score_30_days_ago_takes_the_friction_of_then(catalogue):
    set_interval("library-loans", 30)
    who = factories.resident()
    use(who, "library-loans", days_before_end=35)
    # pending 30 days ago (received 40 days before T, resolved 10 days before T)
    old = asked(who, days_before_end=40, status="resolved", resolved_days_before_end=10)
    old.first_response_due_at = at(38)  # overdue then too
    asked(who, days_before_end=5)  # pending now only
    db.session.flush()
    scoring.recompute(DAY)
    s = score_of(who, "library-loans")
    assert (s.friction, s.inquiries_pending, s.inquiries_overdue) == (75.0, 1, 0)
    # then: recency 100 (5 days), frequency 33.33, friction 50 (1 pending, overdue)
    assert s.score_30d_ago == pytest.approx(round((35 * 100 + 35 * 100 / 3 + 10 * 50) / 80, 4))


def test_today_with_the_operations(catalogue, users):
    """Today's run, the inquiries worked through the portal's own operations: a
    resolved one no longer counts, a merged duplicate neither."""
    staff = users["staff"]
    who = factories.resident()
    db.session.add(UsageEvent(resident_id=who.id, service_id=factories.service(
        "library-loans").id, kind="use", channel="counter",
        occurred_at=utcnow() - timedelta(days=2), source="staff",
        idempotency_key=uuid.uuid4().hex))
    first = inquiry(resident=who, received_at=utcnow() - timedelta(days=30))  # overdue by now
    second = inquiry(resident=who, received_at=utcnow() - timedelta(days=1))
    done = inquiry(resident=who, received_at=utcnow() - timedelta(days=3))
    operations.change_status(done, staff, InquiryStatus.RESOLVED)
    operations.merge(second, staff, first)
    scoring.recompute(local_today())
    s = score_of(who, "library-loans")
    assert first.due_at < utcnow()
    assert (s.friction, s.inquiries_pending, s.inquiries_overdue) == (50.0, 1, 1)


def test_sql_matches_the_reference_on_random_inquiries(catalogue):
    """Random inquiries in every status, resolved before and after T and T − 30 d,
    answered or not, merged or not, inside and outside both windows: the stored
    friction, its counts, the score and the score of 30 days ago agree with the
    Python reference (``portal.inquiries.friction.pending_at`` / ``overdue_at``)."""
    rng = random.Random(20261204)
    slugs = ["library-loans", "tax-certificate", "waste-sorting-app"]
    set_interval("tax-certificate", 365)
    residents = []
    for _ in range(30):
        who = factories.resident()
        residents.append(who)
        for slug in rng.sample(slugs, rng.randint(1, 2)):
            use(who, slug, days_before_end=rng.uniform(0.1, 80), count=rng.randint(1, 4),
                spacing=rng.uniform(1, 20))
            for _ in range(rng.randint(0, 5)):
                received = rng.uniform(-5, 420)
                item = inquiry(resident=who, service=slug, received_at=at(received))
                item.first_response_due_at = at(received - rng.uniform(0, 20))
                item.resolution_due_at = item.first_response_due_at - timedelta(
                    days=rng.uniform(0, 20))
                if rng.random() < 0.5:
                    item.first_response_at = at(received - rng.uniform(0, 25))
                item.status = rng.choice(list(InquiryStatus))
                if item.status in (InquiryStatus.RESOLVED, InquiryStatus.CLOSED):
                    item.resolved_at = at(received - rng.uniform(0, 60))
                    if item.status == InquiryStatus.CLOSED:
                        item.closed_at = item.resolved_at + timedelta(days=rng.uniform(0, 9))
                        if rng.random() < 0.3:
                            item.resolved_at = None  # closed without a resolution time
                db.session.flush()
                if item.status == InquiryStatus.CLOSED and rng.random() < 0.3:
                    item.merged_into_id = item.id - 1 if item.id > 1 else None
    db.session.flush()
    scoring.recompute(DAY)
    inquiries = db.session.scalars(select(Inquiry)).all()
    events = db.session.scalars(select(UsageEvent)).all()
    checked = with_friction = with_friction_then = 0
    for who in residents:
        for slug in slugs:
            service = factories.service(slug)
            stored = score_of(who, slug)
            mine = [e.occurred_at for e in events
                    if e.resident_id == who.id and e.service_id == service.id
                    and e.occurred_at < END]
            if not mine:
                assert stored is None
                continue
            interval = service.expected_interval_days
            window = explain.window_days(interval)
            theirs = [i for i in inquiries if i.resident_id == who.id
                      and i.service_id == service.id]

            def counts(cut, theirs=theirs, window=window):
                pending = [i for i in theirs if signals.pending_at(i, cut, window)]
                return len(pending), sum(1 for i in pending if signals.overdue_at(i, cut))

            def reference(cut, mine=mine, interval=interval, window=window):
                before = [m for m in mine if m < cut]
                if not before:
                    return None
                days = (cut - max(before)).total_seconds() / 86400
                n = sum(1 for m in before if m >= cut - timedelta(days=window))
                return explain.weighted_mean(
                    {"recency": explain.recency(days, interval),
                     "frequency": explain.frequency(n, interval, window),
                     "satisfaction": None, "friction": explain.friction(*counts(cut))},
                    {"recency": 35, "frequency": 35, "satisfaction": 20, "friction": 10})

            pending, overdue = counts(END)
            assert (stored.inquiries_pending, stored.inquiries_overdue) == (pending, overdue), \
                (who.id, slug)
            assert stored.friction == explain.friction(pending, overdue)
            assert stored.score == pytest.approx(reference(END), abs=1e-4), (who.id, slug)
            month_ago = END - timedelta(days=30)
            assert stored.score_30d_ago == pytest.approx(reference(month_ago), abs=1e-4)
            with_friction += pending > 0
            with_friction_then += counts(month_ago)[0] > 0
            checked += 1
    assert checked > 30 and with_friction > 8 and with_friction_then > 5


def test_the_360_page_names_the_numbers(manager_client, catalogue):
    who = factories.resident()
    service = factories.service("library-loans")
    db.session.add(UsageEvent(resident_id=who.id, service_id=service.id, kind="use",
                              channel="counter", occurred_at=utcnow() - timedelta(days=2),
                              source="staff", idempotency_key=uuid.uuid4().hex))
    inquiry(resident=who, received_at=utcnow() - timedelta(days=40))  # overdue by now
    inquiry(resident=who, received_at=utcnow() - timedelta(hours=1))
    scoring.recompute(local_today())
    db.session.commit()
    html = manager_client.get(f"/admin/residents/{who.id}", headers=EN).get_data(as_text=True)
    assert "Friction: 2 open inquiries, 1 of them overdue (received in the last 90 days): " \
           "−75." in html
    ja = manager_client.get(f"/admin/residents/{who.id}",
                            headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "未対応の問い合わせ 2 件（うち期限超過 1 件）：−75。" in ja


def test_the_calibration_rescores_with_the_friction_of_s(catalogue):
    """Re-scoring on S takes the inquiries pending at the end of S."""
    from portal.engagement.calibration import Horizon, _population, day_end
    from portal.engagement.weights import models_in_force

    set_interval("library-loans", 30)
    then = DAY - timedelta(days=90)
    end_then = day_end(then)
    who, calm = factories.resident(), factories.resident()
    for person in (who, calm):
        use(person, "library-loans", days_before_end=95, count=3, spacing=10)
    item = inquiry(resident=who, received_at=end_then - timedelta(days=5))
    item.status, item.resolved_at = InquiryStatus.RESOLVED, end_then + timedelta(days=2)
    item.first_response_due_at = end_then - timedelta(days=1)  # overdue on S
    db.session.flush()
    scoring.recompute(DAY)
    scoring.recompute(then)  # the snapshot of S (an older day: history)
    db.session.flush()
    service = factories.service("library-loans")
    model = models_in_force([service])[service.id]
    rows = db.session.execute(_population(service, [_FreshModel(model)],
                                          Horizon(then, DAY))).all()
    scores = sorted(row.score_0 for row in rows)
    stored = {s.resident_id: s for s in db.session.scalars(select(scoring.ScoreSnapshot).where(
        scoring.ScoreSnapshot.service_id == service.id))}
    assert sorted(s.score for s in stored.values()) == scores  # the same as the recompute's
    assert stored[who.id].score < stored[calm.id].score
    assert stored[calm.id].score - stored[who.id].score == pytest.approx(
        10 * 50 / 80, abs=1e-3)  # friction 50 against 100, weight 10 of 80


class _FreshModel:
    """The model in force, as if it had not made the snapshot (forces re-scoring)."""

    def __init__(self, model) -> None:
        self._model, self.id = model, None

    def weights(self):
        return self._model.weights()

    @property
    def red_below(self):
        return self._model.red_below

    @property
    def green_from(self):
        return self._model.green_from


def test_the_bench_switch_scores_friction_100(catalogue):
    who = factories.resident()
    use(who, "library-loans", days_before_end=3)
    asked(who, days_before_end=2, overdue=True)
    scoring.recompute(DAY, friction=False)
    assert score_of(who, "library-loans").friction == 100.0
    scoring.recompute(DAY)
    assert score_of(who, "library-loans").friction == 50.0

