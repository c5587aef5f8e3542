"""tools/benchmark/bench_acquisition.py's synthetic pools: the default
generators are those its recorded figures came from, and the isotropic
one has the same per-component variance and no cluster structure."""
import hashlib
import os.path as osp
import sys

import numpy as np
import pytest

sys.path.insert(
    0,
    osp.join(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools',
        'benchmark'))
import bench_acquisition as bench  # noqa: E402


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def test_default_generators_unchanged():
    # digests of the draws of the generators as of e59d01b, whose pools
    # docs/benchmarks.md's acquisition tables were measured on
    pool = bench.SyntheticPool(80, 1024, 2048, 100, 0.15, 0)
    assert _sha(pool.image(5, {'img_feat'})['img_feat']) == 'd70113e1e4e20260'
    pairs = bench.SyntheticPairs(np.array([3, 0, 5]), 64, 80, 300, 0)
    assert _sha(pairs.image(2)['pair_feats']) == '5992bcc8a36c83f3'


def _img_feats(isotropic: bool, n: int = 400):
    pool = bench.SyntheticPool(
        6, 8, 256, 10, 0.15, 0, clusters=8, isotropic=isotropic)
    x = np.stack([pool.image(i, {'img_feat'})['img_feat'] for i in range(n)])
    return x, np.arange(n)


def _pair_feats(isotropic: bool, n: int = 100):
    pairs = bench.SyntheticPairs(
        np.full(n, 4), 128, 6, 8, 0, isotropic=isotropic)
    x = np.concatenate([pairs.image(i)['pair_feats'] for i in range(n)])
    return x.astype(np.float32), np.repeat(np.arange(n), 4)


@pytest.mark.parametrize('draw, variance', [(_img_feats, 1.25),
                                            (_pair_feats, 1.36)])
def test_isotropic_pool_has_the_variance_and_no_clusters(draw, variance):

    def near_share(x, image):
        """Share of the rows of different images closer than 0.4 of the
        isotropic squared distance 2 variance D (rows of one cluster: at
        most 0.26)."""
        sq = np.sum(x**2, axis=1)
        d2 = (sq[:, None] + sq[None] - 2 * x @ x.T) / (2 * variance *
                                                       x.shape[1])
        return np.mean(d2[image[:, None] != image[None]] < 0.4)

    (clustered, image), (isotropic, _) = draw(False), draw(True)
    # E|x|^2 / D: the clusters' (centre N(0, I) + noise) and the isotropic
    # pool's per-component variance agree
    for x in (clustered, isotropic):
        assert np.mean(np.sum(x**2, axis=1)) / x.shape[1] == pytest.approx(
            variance, rel=0.1)
    assert near_share(clustered, image) > 0.05
    assert near_share(isotropic, image) == 0


def test_distribution_flag_keys_the_shards():
    base = ['--strategy', 'core-set', '--quick']
    clusters = bench.parse_args(base)
    isotropic = bench.parse_args(base + ['--distribution', 'isotropic'])
    assert 'distribution' not in bench._signature(clusters)  # old shards
    assert bench._signature(isotropic)['distribution'] == 'isotropic'
    exact = bench.parse_args(base + ['--exact', 'reference'])
    assert '"exact": "reference"' in exact.strategy_args
