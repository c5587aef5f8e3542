"""Entropy-max / entropy-sum and core-set / core-set-ent on planted pools,
and the contract every strategy keeps (hypothesis)."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmal.apis import select_images
from mmal.registry import STRATEGIES
from mmal.strategies import RankingStrategy, StrategyError, build_strategy
from mmal.strategies.functional import (greedy_k_center,
                                        nearest_center_distances)


def registered_strategies():
    """One registry name per registered strategy class (the hyphenated
    one), so a new strategy is in the contract test by registering."""
    by_class = {}
    for name, cls in STRATEGIES.module_dict.items():
        by_class.setdefault(cls, []).append(name)
    return sorted(
        min(names, key=lambda n: (not n.islower(), n))
        for names in by_class.values())


def contract_cfg(name, pool_ids, budget):
    """``dict(type=name)``; a strategy that cannot be built from its
    defaults (replay needs the picks it replays) declares an ``example``
    class method giving hyper-parameters that work on a given pool."""
    cls = STRATEGIES.get(name)
    if not hasattr(cls, 'example'):
        return dict(type=name)
    extra = cls.example(sorted(pool_ids), budget, np.random.default_rng(0))
    return dict(type=name, **extra)


def test_every_registered_strategy_is_in_the_contract_test():
    names = registered_strategies()
    assert len(names) == len(set(STRATEGIES.module_dict.values()))
    assert {'u-random', 'enms-divproto', 'bib', 'core-set'} <= set(names)
    for name in names:  # built from its defaults, or from its example
        build_strategy(contract_cfg(name, [1, 2, 3], 2))


UNIFORM = np.full((1, 4), 0.25)  # C = 3 classes + background
SURE = np.array([[0.97, 0.01, 0.01, 0.01]])


def test_entropy_max_and_sum_pick_different_planted_images():
    det = {
        # one detection of maximal entropy (ln 4)
        1: dict(cls_probs=UNIFORM),
        # many moderately uncertain detections: bigger sum, smaller max
        2: dict(cls_probs=np.tile([[0.7, 0.1, 0.1, 0.1]], (6, 1))),
        # confident
        3: dict(cls_probs=SURE),
        # no detection: entropy 0
        4: dict(cls_probs=np.zeros((0, 4))),
    }
    m = select_images(dict(type='entropy-max'), det, 4, num_classes=3)
    s = select_images(dict(type='entropy-sum'), det, 4, num_classes=3)
    assert m.ids.tolist()[:2] == [1, 2]
    assert m.scores[0] == pytest.approx(np.log(4))
    assert s.ids.tolist()[:2] == [2, 1]
    assert m.ids.tolist()[-1] == 4 and s.ids.tolist()[-1] == 4


def feats_1d(values):
    return {
        i: dict(img_feat=np.array([v, 0.0], np.float32))
        for i, v in values.items()
    }


def test_core_set_starts_from_labeled_centres():
    # labeled at 0; pool at 1, 2, 9.5, 10. Farthest from {0}: 10; then
    # from {0, 10}: 2 (distance 2) beats 1 (1) and 9.5 (0.5).
    pool = feats_1d({1: 1.0, 2: 2.0, 3: 9.5, 4: 10.0})
    sel = select_images(
        dict(type='core-set'),
        pool,
        2,
        labeled=[0],
        labeled_detections=feats_1d({0: 0.0}))
    assert sel.ids.tolist() == [4, 2]
    np.testing.assert_allclose(sel.scores, [10, 2])


def test_core_set_first_pick_random_without_labeled_images():
    pool = feats_1d({i: float(i) for i in range(10)})
    firsts = {
        int(select_images(dict(type='core-set'), pool, 3, seed=s).ids[0])
        for s in range(8)
    }
    assert len(firsts) > 1
    sel = select_images(dict(type='core-set'), pool, 3, seed=0)
    first = int(sel.ids[0])
    # afterwards it is deterministic: the farthest end, then the middle
    far = 0 if first >= 5 else 9
    assert sel.ids[1] == far


def test_core_set_needs_the_labeled_features():
    with pytest.raises(StrategyError, match='labeled'):
        select_images(
            dict(type='core-set'), feats_1d({1: 1.0}), 1, labeled=[0])


def test_core_set_ent_weights_distances_by_entropy_max():
    # From the labeled centre at 0, image 3 is farthest (6) and core-set
    # takes it; image 2 (5 away) is uncertain (entropy ln 4 vs 0.17), so
    # core-set-ent, which multiplies distance by entropy-max, takes it.
    pool = {
        1: dict(img_feat=np.array([5.0, 0]), cls_probs=SURE),
        2: dict(img_feat=np.array([-5.0, 0]), cls_probs=UNIFORM),
        3: dict(img_feat=np.array([6.0, 0]), cls_probs=SURE),
    }
    labeled = {0: dict(img_feat=np.zeros(2), cls_probs=SURE)}
    ent = select_images(
        dict(type='core-set-ent'),
        pool,
        1,
        labeled=[0],
        labeled_detections=labeled)
    plain = select_images(
        dict(type='core-set'),
        pool,
        1,
        labeled=[0],
        labeled_detections=labeled)
    assert ent.ids.tolist() == [2]
    assert plain.ids.tolist() == [3]


@pytest.mark.parametrize('refresh', [256, 5, 1])
def test_greedy_k_center_matches_brute_force(refresh):
    # lazy updates (few rows brought up to date at a time) give the picks
    # of the eager algorithm
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 16)).astype(np.float32)
    centers = rng.normal(size=(40, 16)).astype(np.float32)
    picked, _ = greedy_k_center(x, 25, rng, centers, refresh=refresh)
    # brute force with the full distance matrix
    d = np.linalg.norm(x[:, None] - np.vstack([centers])[None], axis=2)
    mind = d.min(1)
    want = []
    for _ in range(25):
        i = int(np.argmax(np.where(np.isin(np.arange(300), want), -1, mind)))
        want.append(i)
        mind = np.minimum(mind, np.linalg.norm(x - x[i], axis=1))
    assert picked.tolist() == want
    np.testing.assert_allclose(
        nearest_center_distances(torch.from_numpy(x), centers,
                                 block=7).numpy(),
        d.min(1),
        rtol=1e-4)


def detections(draw, n_images):
    pool = {}
    for i in range(n_images):
        n = draw(st.integers(0, 4))
        rng = np.random.default_rng(draw(st.integers(0, 2**31)))
        labels = rng.integers(0, 3, n)
        pool[10 + i] = dict(
            bboxes=rng.uniform(0, 50, (n, 4)),
            labels=labels,
            scores=rng.uniform(0, 1, n),
            cls_probs=rng.dirichlet(np.ones(4), n),
            feats=rng.normal(size=(n, 5)),
            box_feats=rng.normal(size=(n, 5)),
            query_boxes=np.zeros((0, 4)),
            query_feats=np.zeros((0, 5)),
            img_feat=rng.normal(size=6),
            loss=rng.uniform(0, 2),
            # two extra passes (MC-dropout, CALD's views)
            pass_ious=rng.uniform(0, 1, (2, n)),
            pass_cls_probs=rng.dirichlet(np.ones(4), (2, n)),
            pass_class_scores=rng.uniform(0, 1, (2, 3)),
            img_labels=np.unique(labels))
    return pool


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_every_strategy_keeps_the_contract(data):
    n = data.draw(st.integers(1, 25))
    budget = data.draw(st.integers(0, 30))
    pool = detections(data.draw, n)
    labeled = detections(data.draw, data.draw(st.integers(0, 3)))
    labeled = {i + 1000: v for i, v in labeled.items()}
    box_labels = {i: v['labels'] for i, v in labeled.items()}

    def run(name):
        return select_images(
            contract_cfg(name, pool, budget),
            pool,
            budget,
            labeled=box_labels,
            labeled_detections=labeled,
            seed=3,
            num_classes=3,
            train_state=dict(
                class_quality=np.array([0.2, 0.5, 0.9]))).ids.tolist()

    for name in registered_strategies():
        ids = run(name)
        assert len(ids) == min(budget, n), name
        assert len(set(ids)) == len(ids), name
        assert set(ids) <= set(pool), name
        assert run(name) == ids, name  # same seed, same selection


@STRATEGIES.register_module(name=['_LowMeanScore', '_low-mean-score'])
class _LowMeanScore(RankingStrategy):
    """A strategy added as a user would (one class, here in a test file):
    registering it is all the contract test above needs."""

    requires = ('scores', )

    def summarize(self, fields):
        s = np.asarray(fields['scores'], np.float64)
        return {'score': np.float64(1 - s.mean() if s.size else 1)}


def test_a_strategy_added_by_registering_runs_everywhere():
    assert '_low-mean-score' in registered_strategies()
    det = {
        1: dict(scores=np.array([0.9, 0.8])),
        2: dict(scores=np.array([0.2])),
        3: dict(scores=np.zeros(0))
    }
    sel = select_images(dict(type='_low-mean-score'), det, 2)
    assert sel.ids.tolist() == [3, 2]
    np.testing.assert_allclose(sel.scores, [1.0, 0.8])
