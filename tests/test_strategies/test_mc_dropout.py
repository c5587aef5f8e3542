"""MC-dropout: a head whose outputs vary across the passes ranks above a
stable one, for both scores; unmatched passes count as background."""
import numpy as np
import pytest

from mmal.apis import select_images
from mmal.registry import STRATEGIES

SURE = np.array([0.9, 0.04, 0.03, 0.03])


def passes(dists, ious=None):
    dists = np.asarray(dists, np.float64)  # (T, N, C + 1)
    return dict(
        pass_cls_probs=dists,
        pass_ious=np.ones(dists.shape[:2]) if ious is None else ious)


def test_varying_head_ranks_above_stable_one():
    t = 10
    stable = passes(np.tile(SURE, (t, 2, 1)))
    # every pass as sure as `stable`, but of class 0 or 1 in turn
    flips = np.stack([np.roll(SURE, k % 2) for k in range(t)])
    varying = passes(np.stack([flips, flips], 1))
    pool = {1: stable, 2: varying, 3: passes(np.zeros((t, 0, 4)))}
    for score in ('entropy', 'mutual_information'):
        sel = select_images(
            dict(type='mc-dropout', passes=t, score=score), pool, 3)
        # (with mutual information, 1 and 3 tie at 0)
        assert sel.ids[0] == 2, score
        assert sel.scores[0] > sel.scores[1], score
        assert sel.extra == dict(forward_passes_per_image=t + 1)
    mi = select_images(
        dict(type='mc-dropout', score='mutual_information'), pool, 3)
    np.testing.assert_allclose(mi.scores[1:], 0, atol=1e-9)  # no MI
    ent = select_images(dict(type='mc-dropout'), pool, 3)
    assert ent.ids.tolist() == [2, 1, 3]
    h = -(SURE * np.log(SURE)).sum()
    assert ent.scores[1] == pytest.approx(h)


def test_a_detection_that_vanishes_in_some_passes_is_uncertain():
    t = 4
    ious = np.array([[0.9], [0.2], [0.9], [0.1]])  # lost in passes 2 and 4
    sure = np.tile(SURE, (t, 1, 1))
    pool = {1: passes(sure), 2: passes(sure, ious)}
    sel = select_images(
        dict(type='mc-dropout', passes=t, iou_thr=0.5), pool, 2)
    assert sel.ids.tolist() == [2, 1]
    half = (SURE + np.array([0, 0, 0, 1.0])) / 2
    assert sel.scores[0] == pytest.approx(-(half * np.log(half)).sum())


def test_the_strategy_declares_its_passes():
    s = STRATEGIES.build(
        dict(type='mc-dropout', passes=7, p=0.3, after=['a.b'], seed=2))
    assert s.extra_passes == (dict(
        type='DropoutPass', times=7, p=0.3, after=['a.b'], seed=2), )
    with pytest.raises(ValueError, match='score must be'):
        STRATEGIES.build(dict(type='mc-dropout', score='variance'))
