"""u-random, b-random and least-confidence: contract properties
(hypothesis) and planted answers, through mmal.apis.select_images."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmal.apis import select_images
from mmal.strategies import (BaseStrategy, Selection, StrategyError,
                             check_selection)


def pool_with_labels(n, c, seed):
    rng = np.random.default_rng(seed)
    return {
        int(i):
        dict(img_labels=np.unique(rng.integers(0, c, rng.integers(0, 3))))
        for i in rng.choice(100_000, n, replace=False)
    }


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 80),
    c=st.integers(1, 6),
    budget=st.integers(1, 90),
    seed=st.integers(0, 2**32 - 1),
    strategy=st.sampled_from(['u-random', 'b-random']))
def test_contract(n, c, budget, seed, strategy):
    pool = pool_with_labels(n, c, seed % 1000)
    sel = select_images(
        dict(type=strategy), pool, budget, seed=seed, num_classes=c)
    ids = sel.ids.tolist()
    assert len(ids) == min(budget, n)
    assert len(set(ids)) == len(ids) and set(ids) <= set(pool)
    again = select_images(
        dict(type=strategy), pool, budget, seed=seed, num_classes=c)
    assert again.ids.tolist() == ids
    # the input's order does not matter, only the seed
    shuffled = dict(reversed(list(pool.items())))
    assert select_images(
        dict(type=strategy), shuffled, budget, seed=seed,
        num_classes=c).ids.tolist() == ids


def test_u_random_seeds_differ_and_cover_the_pool():
    pool = {i: {} for i in range(50)}
    picks = [
        tuple(select_images(dict(type='u-random'), pool, 5, seed=s).ids)
        for s in range(40)
    ]
    assert len(set(picks)) > 35
    counts = np.bincount(np.concatenate(picks), minlength=50)
    assert counts.min() > 0  # every image reachable


def test_b_random_takes_the_rare_class_first():
    # Class 2 is absent from the labeled set and in one pool image only.
    pool = {i: dict(img_labels=np.array([0])) for i in range(20)}
    pool.update({i: dict(img_labels=np.array([1])) for i in range(20, 30)})
    pool[99] = dict(img_labels=np.array([0, 2]))
    labeled = {1000 + i: np.array([0, 1]) for i in range(5)}
    for seed in range(10):
        sel = select_images(
            dict(type='b-random'),
            pool,
            3,
            labeled=labeled,
            seed=seed,
            num_classes=3)
        assert sel.ids[0] == 99
        # now class 0 is in 6 images, class 1 in 5: a class-1 image next
        assert pool[int(sel.ids[1])]['img_labels'].tolist() == [1]


def test_b_random_balances_class_counts():
    rng = np.random.default_rng(0)
    pool = {}
    for i in range(300):  # class 0 in 90% of the images
        pool[i] = dict(
            img_labels=np.array([0 if rng.random() < 0.9 else 1 + i % 3]))
    sel = select_images(dict(type='b-random'), pool, 40, seed=1, num_classes=4)
    counts = np.bincount([int(pool[int(i)]['img_labels'][0]) for i in sel.ids],
                         minlength=4)
    assert counts.max() - counts.min() <= 1  # 10 of each


def test_b_random_fills_up_with_unlabeled_images():
    pool = {
        0: dict(img_labels=np.array([0])),
        1: dict(img_labels=np.zeros(0, np.int64)),
        2: dict(img_labels=np.zeros(0, np.int64))
    }
    sel = select_images(dict(type='b-random'), pool, 3, num_classes=1)
    assert sel.ids[0] == 0 and sorted(sel.ids.tolist()) == [0, 1, 2]


def test_least_confidence_picks_the_least_confident_image():
    dets = {
        1: dict(scores=np.array([0.99, 0.2])),
        2: dict(scores=np.array([0.4, 0.3])),  # least confident detections
        3: dict(scores=np.zeros(0)),  # nothing found: maximally uncertain
        4: dict(scores=np.array([0.9])),
    }
    sel = select_images(dict(type='least-confidence'), dets, 2)
    assert sel.ids.tolist() == [3, 2]
    np.testing.assert_allclose(sel.scores, [1.0, 0.6], rtol=1e-6)


def test_missing_field_and_unknown_strategy_are_reported():
    with pytest.raises(StrategyError, match=r"needs fields \['scores'\]"):
        select_images(dict(type='least-confidence'), {1: {}}, 1)
    with pytest.raises(StrategyError, match="'nope' is not a registered"):
        select_images(dict(type='nope'), {1: {}}, 1)


def test_contract_violations_are_caught():

    class Greedy(BaseStrategy):
        pass

    pool = np.arange(5)
    s = Greedy()
    with pytest.raises(StrategyError, match='returned 2 ids; expected'):
        check_selection(s, Selection(np.array([0, 1])), pool, 3)
    with pytest.raises(StrategyError, match='repeated'):
        check_selection(s, Selection(np.array([0, 0, 1])), pool, 3)
    with pytest.raises(StrategyError, match='not in the pool'):
        check_selection(s, Selection(np.array([0, 1, 9])), pool, 3)
