"""Eligibility rules of services.

A rule is a dict with any of ``min_age``, ``max_age`` (years, inclusive),
``child_under`` (the household has a child younger than this many years) and
``districts`` (a list of district names). All given conditions must hold; no
rule (None or {}) means everyone is eligible.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

RULE_KEYS = ("min_age", "max_age", "child_under", "districts")


def age_in(year: int, birth_year: int | None) -> int | None:
    """Age reached during ``year`` (the register keeps birth years only)."""
    return None if birth_year is None else year - birth_year


def is_eligible(rule: dict[str, Any] | None, *, year: int, birth_year: int | None,
                district: str | None, household_birth_years: Iterable[int | None] = ()) -> bool:
    if not rule:
        return True
    age = age_in(year, birth_year)
    if "min_age" in rule and (age is None or age < rule["min_age"]):
        return False
    if "max_age" in rule and (age is None or age > rule["max_age"]):
        return False
    if "districts" in rule and district not in rule["districts"]:
        return False
    if "child_under" in rule:
        limit = rule["child_under"]
        if not any(b is not None and 0 <= year - b < limit for b in household_birth_years):
            return False
    return True


def describe(rule: dict[str, Any] | None) -> list[str]:
    """The rule in words, in the reader's language (one line per condition)."""
    from flask_babel import gettext as _

    if not rule:
        return []
    lines = []
    low, high = rule.get("min_age"), rule.get("max_age")
    if low is not None and high is not None:
        lines.append(_("Aged %(low)s to %(high)s", low=low, high=high))
    elif low is not None:
        lines.append(_("Aged %(low)s or over", low=low))
    elif high is not None:
        lines.append(_("Aged %(high)s or under", high=high))
    if rule.get("child_under") is not None:
        lines.append(_("Households with a child under %(n)s", n=rule["child_under"]))
    if rule.get("districts"):
        from portal.residents.districts import district_name

        names = ", ".join(district_name(code) for code in rule["districts"])
        lines.append(_("Living in: %(districts)s", districts=names))
    return lines
