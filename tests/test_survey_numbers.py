"""The survey numbers, checked against figures worked out by hand."""

from __future__ import annotations

import math

import pytest

from portal.surveys import numbers


def test_csat_is_the_share_of_4_and_5():
    # 10 answers: 1,2,3,3,4,4,4,5,5,5 → 6 of 10 are 4 or 5
    figure = numbers.csat({1: 1, 2: 1, 3: 2, 4: 3, 5: 3}, min_n=5)
    assert figure.n == 10
    assert figure.value == pytest.approx(60.0)


def test_csat_ignores_values_off_the_scale():
    figure = numbers.csat({0: 4, 4: 5, 6: 2}, min_n=5)
    assert (figure.n, figure.value) == (5, 100.0)


def test_nps_with_shares_and_interval():
    # 20 answers: 8 promoters (9–10), 7 passives (7–8), 5 detractors (0–6)
    counts = {10: 5, 9: 3, 8: 4, 7: 3, 6: 2, 3: 2, 0: 1}
    figure = numbers.nps(counts, min_n=5)
    assert figure.n == 20
    assert figure.value == pytest.approx(15.0)  # 40 % − 25 %
    assert figure.shares == pytest.approx({"promoters": 40.0, "passives": 35.0,
                                           "detractors": 25.0})
    # Var = (0.40 + 0.25 − 0.15²) / 20 = 0.6275 / 20 = 0.031375; √ = 0.177130...
    half = 1.959964 * math.sqrt(0.031375) * 100  # 34.7169...
    assert figure.low == pytest.approx(15.0 - half, abs=1e-3)
    assert figure.high == pytest.approx(15.0 + half, abs=1e-3)
    assert figure.low == pytest.approx(-19.717, abs=1e-3)
    assert figure.high == pytest.approx(49.717, abs=1e-3)


def test_nps_interval_is_clipped_to_the_scale():
    figure = numbers.nps({10: 5, 6: 0}, min_n=5)  # all promoters: +100, variance 0
    assert (figure.value, figure.low, figure.high) == (100.0, 100.0, 100.0)
    figure = numbers.nps({10: 5, 0: 1}, min_n=5)  # 5 of 6 promoters, 1 detractor
    assert figure.high == 100.0
    assert figure.value == pytest.approx(100 * 4 / 6)


def test_ces_mean_with_a_t_interval():
    # 1,2,3,4,5 (n = 5): mean 3, s² = 10/4 = 2.5, t(4) = 2.776
    figure = numbers.ces({1: 1, 2: 1, 3: 1, 4: 1, 5: 1}, min_n=5)
    assert figure.value == pytest.approx(3.0)
    half = 2.776 * math.sqrt(2.5 / 5)  # 1.96293...
    assert figure.low == pytest.approx(3 - half)
    assert figure.high == pytest.approx(3 + half)


def test_mean_interval_is_clipped_to_the_scale_ends():
    figure = numbers.mean({1: 4, 7: 1}, min_n=5, low=1, high=7)
    assert figure.value == pytest.approx(2.2)
    assert figure.low == 1  # 2.2 − 2.776·√(7.2/5) < 1


def test_rating_mean():
    # ratings 1–4: 2,3,3,4,4,4 → 20/6
    figure = numbers.headline("rating", {2: 1, 3: 2, 4: 3}, 5, scale_max=4)
    assert figure.value == pytest.approx(20 / 6)
    variance = (1 * (2 - 20 / 6) ** 2 + 2 * (3 - 20 / 6) ** 2 + 3 * (4 - 20 / 6) ** 2) / 5
    assert figure.high == pytest.approx(min(4, 20 / 6 + 2.571 * math.sqrt(variance / 6)))


def test_t_quantiles():
    assert numbers.t_quantile(1) == 12.706
    assert numbers.t_quantile(30) == 2.042
    assert numbers.t_quantile(40) == pytest.approx(2.021, abs=5e-4)
    assert numbers.t_quantile(120) == pytest.approx(1.980, abs=5e-4)
    assert numbers.t_quantile(100000) == pytest.approx(1.960, abs=5e-4)


def test_choice_shares_of_respondents():
    # multiple choice: 8 respondents chose bus 6 times, train 4 times, walk never
    rows = numbers.choice_shares({"bus": 6, "train": 4}, ["bus", "train", "walk"], 8, 5)
    assert [(o, c, round(f.value, 1)) for o, c, f in rows] == [
        ("bus", 6, 75.0), ("train", 4, 50.0), ("walk", 0, 0.0)]


def test_yes_share_and_rates():
    assert numbers.yes_share({1: 3, 0: 2}, 5).value == pytest.approx(60.0)
    rate = numbers.response_rate(completed=30, invited=120, min_n=5)
    assert (rate.value, rate.n) == (25.0, 120)
    assert numbers.started_rate(started=48, invited=120, min_n=5).value == 40.0


@pytest.mark.parametrize("n, shown", [(4, False), (5, True)])
def test_suppression_at_the_minimum_n(n, shown):
    for figure in (numbers.csat({5: n}, 5), numbers.nps({10: n}, 5), numbers.ces({3: n}, 5),
                   numbers.yes_share({1: n}, 5), numbers.response_rate(1, n, 5)):
        assert figure.suppressed is not shown
        assert figure.n == n
        assert (figure.value is not None) is shown
    assert numbers.nps({10: n}, 5).shares is None or shown


def test_change_between_periods():
    assert numbers.change(numbers.csat({5: 6}, 5), numbers.csat({5: 3, 1: 3}, 5)) == 50.0
    assert numbers.change(numbers.csat({5: 6}, 5), numbers.csat({5: 4}, 5)) is None
