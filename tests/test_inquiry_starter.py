"""``portal seed``: the starter reply templates and the public-space service's Open311
attributes, once; ``portal demo``: inquiries in every channel and status."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.inquiries import replies
from portal.inquiries.models import (
    Inquiry,
    InquiryMessage,
    InquiryStatus,
    ReplyTemplate,
    ServiceAttribute,
)
from portal.services.models import Service
from portal.timeutil import utcnow


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seed_adds_templates_and_attributes_once(runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "reply templates added: 3" in first.output
    assert "Open311 attributes added: 2" in first.output
    templates = db.session.scalars(select(ReplyTemplate).order_by(ReplyTemplate.id)).all()
    assert [t.name_en for t in templates][:2] == [
        "We received your inquiry", "Resolved — please tell us if anything remains"]
    for template in templates:
        assert template.department_id is None and template.active
        for body in (template.body_ja, template.body_en):
            assert "{name}" in body and "{number}" in body
            assert set(replies._PLACEHOLDER.findall(body)) <= set(replies.PLACEHOLDERS)
        assert template.name_ja and template.body_ja != template.body_en
    template = templates[0]
    template.body_en = "Edited by staff {name} {number}"
    db.session.commit()
    second = runner.invoke(args=["seed"])
    assert "reply templates added: 0" in second.output
    assert "Open311 attributes added: 0" in second.output
    assert count(ReplyTemplate) == 3 and count(ServiceAttribute) == 2
    assert db.session.get(ReplyTemplate, template.id).body_en.startswith("Edited by staff")


def test_the_public_space_service_and_its_attributes(runner):
    runner.invoke(args=["seed"])
    public = db.session.scalars(select(Service.slug).where(Service.public_space.is_(True))).all()
    assert public == ["recycling-station"]
    station = db.session.scalar(select(Service).where(Service.slug == "recycling-station"))
    assert station.service_code == "ENV-003"
    problem = db.session.scalar(select(ServiceAttribute).where(
        ServiceAttribute.service_id == station.id, ServiceAttribute.code == "problem"))
    assert problem.datatype == "singlevaluelist" and problem.required
    assert {v["key"] for v in problem.values} == {"overflowing", "dumping", "damaged", "other"}
    assert all(v["name_ja"] and v["name_en"] for v in problem.values)


def test_demo_creates_inquiries_of_every_kind(runner):
    result = runner.invoke(args=["demo", "--residents", "600", "--months", "6", "--seed", "5"])
    assert result.exit_code == 0, result.output
    made = count(Inquiry)
    assert made > 20 and f"{made} inquiries" in result.output
    channels = set(db.session.scalars(select(Inquiry.channel).distinct()))
    assert {"web", "phone", "counter", "email", "letter"} <= channels
    assert set(db.session.scalars(select(Inquiry.status).distinct())) == set(InquiryStatus)
    station = db.session.scalar(select(Service.id).where(Service.slug == "recycling-station"))
    assert set(db.session.scalars(select(Inquiry.service_id).where(
        Inquiry.channel == "open311"))) <= {station}
    now = utcnow()
    pending = db.session.scalars(select(Inquiry).where(
        Inquiry.status.in_([s.value for s in InquiryStatus.pending()]))).all()
    assert all(i.due_at is not None for i in pending)
    assert any(i.due_at < now for i in pending)  # some overdue
    done = db.session.scalars(select(Inquiry).where(Inquiry.resolved_at.is_not(None))).all()
    assert any(i.resolved_at <= i.resolution_due_at for i in done)
    assert any(i.resolved_at > i.resolution_due_at for i in done)
    assert all(i.due_at is None for i in done)
    assert count(InquiryMessage, InquiryMessage.kind == "reply") > 0
    assert count(InquiryMessage, InquiryMessage.kind == "note") > 0
    for i in db.session.scalars(select(Inquiry).where(Inquiry.merged_into_id.is_not(None))):
        assert i.status == "closed" and i.merged_into.resident_id == i.resident_id
    # the residents' inquiries are about services they use, and reach the scores
    from portal.engagement.models import EngagementScore

    assert count(EngagementScore, EngagementScore.inquiries_pending > 0) > 0
