"""Box budgets: the cut of a strategy's order, and al.budget=dict(boxes=N)
settings."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mmengine.config import Config

from mmal.active_learning.al_config import ALSettings
from mmal.active_learning.box_budget import (first_request, select_by_boxes,
                                             take_until_boxes)
from mmal.active_learning.pool import SplitError
from mmal.strategies import Selection


def test_take_until_boxes_planted():
    assert take_until_boxes([3, 1, 4, 1], 5) == 3  # 4 < 5 <= 8
    assert take_until_boxes([2, 3, 1], 5) == 2  # reached exactly
    assert take_until_boxes([0, 0, 1], 1) == 3
    assert take_until_boxes([1, 1], 10) == 2  # not enough: all of them


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 9), min_size=1, max_size=30), st.integers(1, 60))
def test_take_until_boxes_is_the_shortest_prefix(counts, boxes):
    k = take_until_boxes(counts, boxes)
    assert 1 <= k <= len(counts)
    if sum(counts) >= boxes:
        assert sum(counts[:k]) >= boxes > sum(counts[:k - 1])
    else:
        assert k == len(counts)


def test_select_by_boxes_asks_for_more_until_enough():
    order = np.arange(100, 120)  # the strategy's order
    counts = {int(i): 1 + int(i) % 3 for i in order}  # 2, 3, 1, 2, ...
    asked = []

    def select(n, rng):
        asked.append(n)
        return Selection(ids=order[:n])

    sel, cut = select_by_boxes(select, counts.get, 12, 2, order.size,
                               np.random.default_rng(0))
    assert asked == [2, 4, 8]  # 5, 8, then 17 boxes
    assert cut == dict(boxes=12, ranked=8, taken=6, revealed=12)
    assert sel.ids[:6].tolist() == order[:6].tolist()
    assert first_request(12, 50, 150, 1000) == 8  # 2 x 12 / 3 per image
    assert first_request(12, 0, 0, 5) == 5


def _settings(budget, **al):
    return ALSettings.from_cfg(
        Config(
            dict(al=dict(strategy=dict(
                type='u-random'), budget=budget, **al))))


def test_box_budget_settings():
    al = _settings(dict(boxes=40), num_cycles=3, initial=dict(size=10))
    assert al.budget_boxes == 40 and al.budget_images(100) is None
    al.check_sizes(20, 10)  # images per cycle unknown: no pool check
    assert _settings(7).budget_boxes is None
    for bad in (dict(boxes=0), dict(boxes=True), dict(boxes=2.5),
                dict(images=3), dict(boxes=3, images=3)):
        with pytest.raises(SplitError, match=r'dict\(boxes=N\)'):
            _settings(bad)
