"""Triangle-inequality pruning (issue 17): BiB's k-means++ over image groups
and core-set's greedy k-center pick exactly what the unpruned reference
algorithms pick, while skipping distances."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmal.active_learning.summary_store import Summaries
from mmal.strategies import StrategyError, build_strategy
from mmal.strategies.functional import greedy_k_center, kmeanspp_images

SETTINGS = settings(max_examples=15, deadline=None)


def clustered(rng, n, dim, clusters, spread):
    """``n`` rows around ``clusters`` Gaussian centres (none: isotropic)."""
    x = rng.standard_normal((n, dim)).astype(np.float32)
    if clusters:
        mu = 4 * rng.standard_normal((clusters, dim)).astype(np.float32)
        x = mu[rng.integers(clusters, size=n)] + spread * x
    return x


def pair_matrix(rng, num_images, dim, clusters, max_pairs=6):
    pool = {}
    for i in range(num_images):
        p = int(rng.integers(0, max_pairs + 1))
        pool[i] = dict(
            pair_feats=clustered(rng, p, dim, clusters, 0.3).astype(
                np.float16))
    return Summaries.from_dict(pool).matrix('pair_feats', 16, 'cpu')


def run_kmeanspp(matrix, num_images, budget, seed, exact, **kw):
    stats = {}
    picked, values = kmeanspp_images(
        matrix,
        matrix.row_image,
        num_images,
        budget,
        np.random.default_rng(seed),
        exact=exact,
        stats=stats,
        **kw)
    return picked, values, stats


@SETTINGS
@given(
    seed=st.integers(0, 2**31 - 1),
    num_images=st.integers(1, 40),
    budget=st.integers(1, 12),
    clusters=st.sampled_from([0, 1, 3, 8]),
    sampling=st.sampled_from(['squared', 'linear']),
    cycle=st.integers(0, 3),
    labeled=st.integers(0, 8),
    preselected=st.integers(0, 3))
def test_kmeanspp_pruned_equals_reference(seed, num_images, budget, clusters,
                                          sampling, cycle, labeled,
                                          preselected):
    rng = np.random.default_rng(seed)
    matrix = pair_matrix(rng, num_images, 6, clusters)
    centers = clustered(rng, labeled, 6, clusters, 0.3) if labeled else None
    pre = rng.choice(
        num_images, min(preselected, num_images), replace=False).tolist()
    # the official local-trial count: 2 + ln k, k cumulative
    trials = 2 + int(math.log(budget * (cycle + 1)))
    kw = dict(
        centers=centers,
        preselected=pre,
        sampling=sampling,
        local_trials=trials)
    ref = run_kmeanspp(matrix, num_images, budget, seed, 'reference', **kw)
    got = run_kmeanspp(matrix, num_images, budget, seed, 'pruned', **kw)
    assert got[0] == ref[0]
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-4, atol=1e-4)
    stats = got[2]
    assert stats['distances_computed'] >= 0
    assert stats['distances_skipped'] >= 0


def test_kmeanspp_pruning_skips_on_separated_clusters():
    # planted: 5 far-apart clusters of images; the first 5 picks cover the
    # 5 clusters, after which the pairs of the other clusters cannot move
    # to a new centre, so most distances are skipped
    rng = np.random.default_rng(0)
    mu = 100 * np.eye(5, 16, dtype=np.float32)
    pool, cluster_of = {}, []
    for i in range(60):
        k = i % 5
        cluster_of.append(k)
        pool[i] = dict(
            pair_feats=(mu[k] + rng.standard_normal((3, 16)).astype(np.float32)
                        ).astype(np.float16))
    matrix = Summaries.from_dict(pool).matrix('pair_feats', 32, 'cpu')
    trials = 2 + int(math.log(12))
    ref = run_kmeanspp(matrix, 60, 12, 1, 'reference', local_trials=trials)
    got = run_kmeanspp(matrix, 60, 12, 1, 'pruned', local_trials=trials)
    assert got[0] == ref[0]
    assert sorted(cluster_of[i] for i in got[0][:5]) == [0, 1, 2, 3, 4]
    stats = got[2]
    assert stats['distances_skipped'] > stats['distances_computed']


@SETTINGS
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 120),
    k=st.integers(1, 30),
    labeled=st.integers(0, 40),
    clusters=st.sampled_from([0, 2, 6]),
    weighted=st.booleans())
def test_greedy_k_center_pruned_equals_reference(seed, n, k, labeled, clusters,
                                                 weighted):
    rng = np.random.default_rng(seed)
    data = clustered(rng, n + labeled, 8, clusters, 0.5)
    x, centers = data[:n], data[n:].astype(np.float16)
    weights = rng.uniform(0.1, 1, n) if weighted else None
    stats = {}
    ref = greedy_k_center(
        torch.from_numpy(x),
        k,
        np.random.default_rng(seed),
        centers if labeled else None,
        weights,
        exact='reference')
    got = greedy_k_center(
        torch.from_numpy(x),
        k,
        np.random.default_rng(seed),
        centers if labeled else None,
        weights,
        exact='pruned',
        stats=stats)
    assert got[0].tolist() == ref[0].tolist()
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-9)
    k = min(k, n)
    assert stats['distances_computed'] + stats['distances_skipped'] == \
        n * (labeled + k - 1)


def eager_k_center(x, k, rng, centers, weights):
    """Greedy k-center as stated: float64 distances as differences, every
    row updated at every pick, ties to the lowest index."""
    x = torch.from_numpy(x).double()
    n = len(x)
    dist = (lambda c: (x - c).square().sum(dim=1).sqrt())
    mind = torch.full((n, ), float('inf'), dtype=torch.float64)
    for c in ([] if centers is None else torch.from_numpy(
            centers.astype(np.float32)).double()):
        mind = torch.minimum(mind, dist(c))
    w = None if weights is None else torch.from_numpy(
        weights.astype(np.float32)).double()
    taken = torch.zeros(n, dtype=torch.bool)
    picked, values = [], []
    for t in range(min(k, n)):
        if t == 0 and not bool(torch.isfinite(mind).any()):
            i, v = int(rng.integers(n)), 0.0
        else:
            key = (mind if w is None else mind * w).masked_fill(
                taken, -float('inf'))
            i = int(torch.argmax(key))
            v = float(key[i])
        picked.append(i)
        values.append(v)
        taken[i] = True
        mind = torch.minimum(mind, dist(x[i]))
    return np.asarray(picked), np.asarray(values)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 400),
    k=st.integers(1, 40),
    labeled=st.integers(0, 60),
    clusters=st.sampled_from([0, 3, 12]),
    num_anchors=st.sampled_from([1, 2, 5, 16]),
    weighted=st.booleans())
def test_greedy_k_center_pruned_blocks_equal_reference(seed, n, k, labeled,
                                                       clusters, num_anchors,
                                                       weighted):
    """Few anchors for many rows: each anchor's rows span several blocks
    and runs (the row layout, the block-wise argmax with its ties, the
    runs merged across blocks), and the picks stay those of the plain
    eager algorithm. Duplicate rows tie at distance 0: the eager oracle
    computes distances as differences, as the pruned algorithm does (the
    lazy reference's norm expansion leaves about 1e-7 there, which would
    decide those ties)."""
    from mmal.strategies.functional.k_center_pruned import \
        greedy_k_center_pruned
    rng = np.random.default_rng(seed)
    data = clustered(rng, n + labeled, 8, clusters, 0.5)
    x, centers = data[:n], data[n:].astype(np.float16)
    if seed % 3 == 0:  # duplicate rows: ties of the farthest
        x[n // 2:] = x[:n - n // 2]
    weights = rng.uniform(0.1, 1, n) if weighted else None
    ref = eager_k_center(x, k, np.random.default_rng(seed),
                         centers if labeled else None, weights)
    got = greedy_k_center_pruned(
        torch.from_numpy(x),
        k,
        np.random.default_rng(seed),
        centers if labeled else None,
        weights,
        num_anchors=num_anchors)
    assert got[0].tolist() == ref[0].tolist()
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-9)


def test_greedy_k_center_pruned_planted():
    # planted: labeled centres sit in clusters 0 and 1; the planted far row
    # of cluster 2 comes first, then a row of cluster 3
    rng = np.random.default_rng(3)
    mu = 50 * np.eye(4, 32, dtype=np.float32)
    x = np.concatenate([
        mu[k] + rng.standard_normal((200, 32)).astype(np.float32)
        for k in range(4)
    ])
    x[2 * 200 + 7] = mu[2] - 10 * mu[0] / 50  # farther from cluster 0
    centers = np.concatenate([
        mu[0] + rng.standard_normal((20, 32)), mu[1] + rng.standard_normal(
            (20, 32))
    ]).astype(np.float16)
    stats = {}
    picked, _ = greedy_k_center(
        torch.from_numpy(x),
        2,
        np.random.default_rng(0),
        centers,
        exact='pruned',
        stats=stats)
    ref, _ = greedy_k_center(
        torch.from_numpy(x),
        2,
        np.random.default_rng(0),
        centers,
        exact='reference')
    assert picked.tolist() == ref.tolist()
    assert picked[0] // 200 in (2, 3) and picked[1] // 200 in (2, 3)
    assert picked[0] // 200 != picked[1] // 200
    # the rows of cluster 0 are not all compared with cluster 1's centres
    assert stats['distances_skipped'] > 0


def test_strategies_record_the_distance_counts():
    rng = np.random.default_rng(0)
    pool = {
        i: dict(img_feat=rng.standard_normal(4).astype(np.float16))
        for i in range(30)
    }
    from mmal.strategies import SelectionContext
    ctx = SelectionContext(
        labeled_ids=np.zeros(0, np.int64),
        class_counts=np.zeros(2, np.int64),
        class_image_counts=np.zeros(2, np.int64),
        num_classes=2,
        cycle=0)
    ctx.labeled_summaries = Summaries.from_dict({})
    sel = {}
    for exact in ('pruned', 'reference'):
        strategy = build_strategy(dict(type='core-set', exact=exact))
        sel[exact] = strategy.select(
            Summaries.from_dict(pool), 5, ctx, np.random.default_rng(1))
    assert sel['pruned'].ids.tolist() == sel['reference'].ids.tolist()
    assert set(
        sel['pruned'].extra) == {'distances_computed', 'distances_skipped'}
    with pytest.raises(StrategyError, match='exact must be one of'):
        build_strategy(dict(type='core-set', exact='fast'))
    with pytest.raises(StrategyError, match='exact must be one of'):
        build_strategy(dict(type='bib', exact='fast'))
