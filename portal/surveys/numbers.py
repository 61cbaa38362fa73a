"""The survey numbers: pure functions on counts (no database, no request).

Every function takes the answers as counts (``{value: how many}``) and the
minimum n, and returns a :class:`Figure` that carries its n. Below the minimum n
the figure is *suppressed*: it keeps its n (so a page can say how many answers
there were) but no value, interval or shares. The formulas are written out in
``docs/surveys.md`` ("Results").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

Z_95 = 1.959963984540054  # the standard normal's 97.5 % quantile

# Student's t, 97.5 % quantile (two-sided 95 %), for 1–30 degrees of freedom
# (the usual printed table, three decimals).
T_95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


@dataclass(frozen=True)
class Figure:
    """One figure with its n. ``value`` is a percentage (CSAT, shares, rates), a
    score (NPS, −100…100) or a mean; ``low``/``high`` its 95 % interval when it has
    one; ``shares`` the parts of an NPS (promoters, passives, detractors, in %)."""

    n: int
    value: float | None = None
    low: float | None = None
    high: float | None = None
    shares: dict[str, float] | None = None
    suppressed: bool = False

    @property
    def shown(self) -> bool:
        return not self.suppressed and self.value is not None


def suppressed(n: int) -> Figure:
    return Figure(n=n, suppressed=True)


def too_few(n: int, min_n: int) -> bool:
    return n < min_n


def t_quantile(df: int) -> float:
    """Student's t 97.5 % quantile for ``df`` degrees of freedom: the table for 1–30,
    beyond it the Cornish–Fisher expansion around the normal quantile (Abramowitz &
    Stegun 26.7.5), which is within 0.0005 of the exact value from 30 up."""
    if df < 1:
        raise ValueError("at least one degree of freedom")
    if df <= len(T_95):
        return T_95[df - 1]
    z = Z_95
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _total(counts: Mapping) -> int:
    return sum(counts.values())


def csat(counts: Mapping[int, int], min_n: int) -> Figure:
    """CSAT: the share of 4 and 5 among the 1–5 answers, in %."""
    valid = {v: c for v, c in counts.items() if v is not None and 1 <= v <= 5}
    n = _total(valid)
    if too_few(n, min_n) or n == 0:
        return suppressed(n)
    return Figure(n=n, value=100 * (valid.get(4, 0) + valid.get(5, 0)) / n)


def nps(counts: Mapping[int, int], min_n: int) -> Figure:
    """NPS = % promoters (9–10) − % detractors (0–6), −100…100, with the three shares
    and a 95 % interval. Promoters and detractors come from one multinomial sample,
    so the variance of the difference of their shares is
    (p_p + p_d − (p_p − p_d)²) / n; the interval is NPS ± 1.96·√Var·100, clipped to
    −100…100."""
    valid = {v: c for v, c in counts.items() if v is not None and 0 <= v <= 10}
    n = _total(valid)
    if too_few(n, min_n) or n == 0:
        return suppressed(n)
    promoters = sum(c for v, c in valid.items() if v >= 9) / n
    detractors = sum(c for v, c in valid.items() if v <= 6) / n
    passives = 1 - promoters - detractors
    score = 100 * (promoters - detractors)
    variance = (promoters + detractors - (promoters - detractors) ** 2) / n
    half = Z_95 * math.sqrt(max(variance, 0.0)) * 100
    return Figure(n=n, value=score, low=_clip(score - half, -100, 100),
                  high=_clip(score + half, -100, 100),
                  shares={"promoters": 100 * promoters, "passives": 100 * passives,
                          "detractors": 100 * detractors})


def mean(counts: Mapping[int, int], min_n: int, low: int | None = None,
         high: int | None = None) -> Figure:
    """The mean of the answers with a 95 % interval: mean ± t(n−1)·s/√n, s the sample
    standard deviation; clipped to the scale's ends when given. CES (1–7) and
    ratings (1–N). With one answer there is no interval."""
    valid = {v: c for v, c in counts.items() if v is not None
             and (low is None or v >= low) and (high is None or v <= high)}
    n = _total(valid)
    if too_few(n, min_n) or n == 0:
        return suppressed(n)
    average = sum(v * c for v, c in valid.items()) / n
    if n < 2:
        return Figure(n=n, value=average)
    variance = sum(c * (v - average) ** 2 for v, c in valid.items()) / (n - 1)
    half = t_quantile(n - 1) * math.sqrt(variance / n)
    lo, hi = average - half, average + half
    if low is not None:
        lo = max(lo, low)
    if high is not None:
        hi = min(hi, high)
    return Figure(n=n, value=average, low=lo, high=hi)


def ces(counts: Mapping[int, int], min_n: int) -> Figure:
    """CES: the mean on 1–7 ("how easy"), higher = easier, with its 95 % interval."""
    return mean(counts, min_n, 1, 7)


def yes_share(counts: Mapping[int, int], min_n: int) -> Figure:
    """Yes/no: the share of yes (stored as 1) among the answers, in %."""
    valid = {v: c for v, c in counts.items() if v in (0, 1)}
    n = _total(valid)
    if too_few(n, min_n) or n == 0:
        return suppressed(n)
    return Figure(n=n, value=100 * valid.get(1, 0) / n)


def share(part: int, whole: int, min_n: int) -> Figure:
    """``part`` of ``whole`` in %, with n = ``whole``."""
    if too_few(whole, min_n) or whole == 0:
        return suppressed(whole)
    return Figure(n=whole, value=100 * part / whole)


def choice_shares(counts: Mapping[str, int], options: list[str], respondents: int,
                  min_n: int) -> list[tuple[str, int, Figure]]:
    """Each option's count and share of the respondents to the question (a
    multiple-choice question's shares add up to more than 100 %), in the options'
    order, then any stored value no longer among the options. Suppressed together
    when fewer than ``min_n`` answered."""
    order = list(options) + sorted(set(counts) - set(options))
    return [(option, counts.get(option, 0), share(counts.get(option, 0), respondents, min_n))
            for option in order]


def response_rate(completed: int, invited: int, min_n: int) -> Figure:
    """Response rate = completed / invited, in % (n = invited)."""
    return share(completed, invited, min_n)


def started_rate(started: int, invited: int, min_n: int) -> Figure:
    """Started rate = started / invited, in % (a completed invitation counts as
    started)."""
    return share(started, invited, min_n)


def headline(question_type: str, counts: Mapping[int, int], min_n: int,
             scale_max: int | None = None) -> Figure:
    """The one figure a number question is summed up by: CSAT, NPS, CES mean, rating
    mean or the share of yes."""
    if question_type == "csat":
        return csat(counts, min_n)
    if question_type == "nps":
        return nps(counts, min_n)
    if question_type == "ces":
        return ces(counts, min_n)
    if question_type == "rating":
        return mean(counts, min_n, 1, scale_max)
    if question_type == "yes_no":
        return yes_share(counts, min_n)
    raise ValueError(f"no headline figure for {question_type!r}")


def change(now: Figure, before: Figure) -> float | None:
    """The change between two periods' figures, None when either is not shown."""
    if not now.shown or not before.shown:
        return None
    return now.value - before.value
