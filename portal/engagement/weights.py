"""The scoring model in force: weights and band edges per service, with a global
default, versioned. Managers change them; every change is a new audited version."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.audit.recording import record
from portal.auth.models import User
from portal.engagement.models import MEASURES, ScoringModel
from portal.extensions import db
from portal.services.models import Service

DEFAULT_WEIGHTS = {"recency": 35, "frequency": 35, "satisfaction": 20, "friction": 10}
DEFAULT_RED_BELOW = 50
DEFAULT_GREEN_FROM = 75


class ModelError(ValueError):
    """Weights or band edges that cannot be used; ``str(error)`` is safe to show."""


@dataclass(frozen=True)
class ModelValues:
    weights: dict[str, int]
    red_below: int
    green_from: int

    def check(self) -> None:
        if any(w is None or w < 0 for w in self.weights.values()):
            raise ModelError(_("Weights cannot be negative."))
        if not any(self.weights.values()):
            raise ModelError(_("At least one weight must be above zero."))
        if not any(self.weights[m] for m in ("recency", "frequency", "friction")):
            raise ModelError(_("Give weight to recency, frequency or friction: satisfaction "
                               "alone is missing for residents who answered no survey."))
        if not 0 < self.red_below < self.green_from <= 100:
            raise ModelError(_("Band edges must be ordered: 0 < red below < green from ≤ 100."))


def ensure_default() -> ScoringModel:
    """The global default model (created at version 1 the first time)."""
    model = latest(None)
    if model is None:
        model = ScoringModel(service_id=None, version=1, red_below=DEFAULT_RED_BELOW,
                             green_from=DEFAULT_GREEN_FROM, note="Built-in default",
                             **{f"weight_{m}": w for m, w in DEFAULT_WEIGHTS.items()})
        db.session.add(model)
        db.session.flush()
    return model


def latest(service_id: int | None) -> ScoringModel | None:
    scope = (ScoringModel.service_id.is_(None) if service_id is None
             else ScoringModel.service_id == service_id)
    return db.session.scalar(select(ScoringModel).where(scope)
                             .order_by(ScoringModel.version.desc()).limit(1))


def models_in_force(services: list[Service]) -> dict[int, ScoringModel]:
    """Service id → its own latest model, or the global default (two queries)."""
    default = ensure_default()
    newest = (select(ScoringModel.service_id, func.max(ScoringModel.version).label("version"))
              .where(ScoringModel.service_id.is_not(None))
              .group_by(ScoringModel.service_id).subquery())
    own = {m.service_id: m for m in db.session.scalars(
        select(ScoringModel).join(newest, (newest.c.service_id == ScoringModel.service_id)
                                  & (newest.c.version == ScoringModel.version)))}
    return {s.id: own.get(s.id, default) for s in services}


def save_version(*, actor: User, service: Service | None, values: ModelValues,
                 note: str = "") -> ScoringModel:
    """Add a new version for ``service`` (None: the global default)."""
    values.check()
    current = latest(service.id if service else None)
    model = ScoringModel(
        service_id=service.id if service else None,
        version=(current.version + 1) if current else 1, red_below=values.red_below,
        green_from=values.green_from, note=note.strip()[:300], created_by_id=actor.id,
        **{f"weight_{m}": values.weights[m] for m in MEASURES})
    db.session.add(model)
    db.session.flush()
    scope = service.slug if service else "default"
    record("scoring_model.save", actor=actor, target=model,
           summary=f"Scoring model for {scope} now version {model.version}",
           data={"weights": values.weights, "red_below": values.red_below,
                 "green_from": values.green_from,
                 "previous": current.weights() | {"red_below": current.red_below,
                                                  "green_from": current.green_from}
                 if current else None})
    return model
