"""Statistics of a benchmark: the area under the budget curve and paired
comparisons over seeds.

AUBC (Zhan et al., "A Comparative Survey: Benchmarking for Pool-based
Active Learning", IJCAI 2021): the area under the curve of the metric
against the budget spent, by the trapezoidal rule, divided by the width of
the budget range, so that it is in the metric's own units (a curve constant
at ``a`` has AUBC ``a``) and comparable across budget ranges.

Paired differences: for each seed, strategy minus reference (both started
from the same cycle 0); their mean with a 95 % interval from the paired t
distribution (scipy's quantile) and from a percentile bootstrap over seeds
(a seeded ``numpy.random.Generator``), and wins / ties / losses over seeds.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np


def aubc(budget: Sequence[float], metric: Sequence[float]) -> float:
    """Normalised area under the budget curve.

    Args:
        budget (Sequence[float]): Budget spent at each point (labeled
            images, boxes or cost), strictly increasing, at least 2 points.
        metric (Sequence[float]): The metric at each point.

    Returns:
        float: ``trapezoid(metric, budget) / (budget[-1] - budget[0])``.
    """
    x = np.asarray(budget, np.float64)
    y = np.asarray(metric, np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError('aubc needs two equal-length 1-d sequences of at '
                         f'least 2 points, got {x.shape} and {y.shape}')
    if np.any(np.diff(x) <= 0):
        raise ValueError(f'aubc: the budget must increase, got {x.tolist()}')
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for one value)."""
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def t_interval(diffs: Sequence[float],
               level: float = 0.95) -> Tuple[float, float]:
    """Paired t interval of the mean of ``diffs``: ``mean -+ t_{(1 + level)
    / 2, n - 1} * sd / sqrt(n)``; (nan, nan) for fewer than 2 values."""
    from scipy.stats import t
    d = np.asarray(diffs, np.float64)
    if d.size < 2:
        return float('nan'), float('nan')
    half = t.ppf((1 + level) / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return float(d.mean() - half), float(d.mean() + half)


def bootstrap_interval(diffs: Sequence[float],
                       rng: np.random.Generator,
                       level: float = 0.95,
                       num: int = 10000) -> Tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``diffs``: ``num``
    resamples with replacement drawn from ``rng``; (nan, nan) for fewer
    than 2 values."""
    d = np.asarray(diffs, np.float64)
    if d.size < 2:
        return float('nan'), float('nan')
    means = d[rng.integers(0, d.size, size=(num, d.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def wins_ties_losses(diffs: Sequence[float],
                     tie: float = 0.0) -> Tuple[int, int, int]:
    """Seeds where the strategy beats the reference by more than ``tie``,
    is within ``tie`` of it, and is beaten by more than ``tie``."""
    d = np.asarray(diffs, np.float64)
    return (int((d > tie).sum()), int((np.abs(d)
                                       <= tie).sum()), int((d < -tie).sum()))


@dataclass
class PairedDifference:
    """A strategy against the reference over seeds."""
    mean: float
    t_low: float
    t_high: float
    boot_low: float
    boot_high: float
    wins: int
    ties: int
    losses: int
    n: int


def paired_difference(values: Sequence[float],
                      reference: Sequence[float],
                      seed: int = 0,
                      tie: float = 0.0,
                      level: float = 0.95) -> Optional[PairedDifference]:
    """The paired comparison of ``values`` with ``reference`` (same seeds,
    same order); the bootstrap draws from ``default_rng(seed)``. None when
    there are no pairs."""
    d = np.asarray(values, np.float64) - np.asarray(reference, np.float64)
    if d.size == 0:
        return None
    rng = np.random.default_rng(seed)
    return PairedDifference(
        float(d.mean()), *t_interval(d, level),
        *bootstrap_interval(d, rng, level), *wins_ties_losses(d, tie),
        int(d.size))
