"""Planted answers for the benchmark statistics."""
import numpy as np
import pytest

from mmal.benchmark.statistics import (aubc, bootstrap_interval, mean_std,
                                       paired_difference, t_interval,
                                       wins_ties_losses)


def test_aubc_planted():
    # a constant curve has its own value as AUBC
    assert aubc([50, 100, 150], [0.4, 0.4, 0.4]) == pytest.approx(0.4)
    # trapezoids 0.5 and 1.0 over a width of 2
    assert aubc([0, 1, 2], [0, 1, 1]) == pytest.approx(0.75)
    # uneven steps: (50 * 0.3 + 100 * 0.5) / 150
    assert aubc([50, 100, 200], [0.2, 0.4, 0.6]) == pytest.approx(65 / 150)
    # the mean of the points would be 0.4 for both; the area tells them
    # apart (an early gain is worth more)
    assert aubc([0, 1, 2], [0.0, 0.6, 0.6]) > aubc([0, 1, 2], [0.0, 0.0, 1.2])


@pytest.mark.parametrize('x, y', [([1], [0.5]), ([1, 1], [0, 1]),
                                  ([2, 1], [0, 1]), ([1, 2], [0])])
def test_aubc_refuses_bad_curves(x, y):
    with pytest.raises(ValueError):
        aubc(x, y)


def test_t_interval_by_hand():
    d = [1.0, 2.0, 3.0, 4.0]
    # mean 2.5, sd sqrt(5/3), t_{0.975, 3} = 3.182446305
    half = 3.182446305284263 * np.sqrt(5 / 3) / 2
    lo, hi = t_interval(d)
    assert lo == pytest.approx(2.5 - half, abs=1e-9)
    assert hi == pytest.approx(2.5 + half, abs=1e-9)
    assert all(np.isnan(t_interval([1.0])))
    assert mean_std([1.0, 3.0]) == pytest.approx((2.0, np.sqrt(2)))
    assert mean_std([0.3]) == (0.3, 0.0)


def test_bootstrap_deterministic_with_seed():
    d = [0.01, -0.02, 0.03, 0.05, 0.0]
    a = bootstrap_interval(d, np.random.default_rng(3))
    b = bootstrap_interval(d, np.random.default_rng(3))
    c = bootstrap_interval(d, np.random.default_rng(4))
    assert a == b and a != c
    assert min(d) <= a[0] < np.mean(d) < a[1] <= max(d)
    # no spread: the interval is the point
    assert bootstrap_interval([0.2] * 3, np.random.default_rng(0)) == \
        pytest.approx((0.2, 0.2))


def test_wins_ties_losses_and_paired():
    assert wins_ties_losses([0.1, 0.0, -0.2, 0.0005], tie=1e-3) == (1, 2, 1)
    p = paired_difference([0.5, 0.6, 0.7], [0.4, 0.6, 0.5], seed=0, tie=0)
    assert p.mean == pytest.approx(0.1)
    assert (p.wins, p.ties, p.losses, p.n) == (2, 1, 0, 3)
    lo, hi = t_interval([0.1, 0.0, 0.2])
    assert (p.t_low, p.t_high) == pytest.approx((lo, hi))
    assert p == paired_difference([0.5, 0.6, 0.7], [0.4, 0.6, 0.5], tie=0)
