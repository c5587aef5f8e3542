"""replay: returns the recorded picks of each cycle, in their order, and
refuses picks it cannot replay."""
import numpy as np
import pytest

from mmal.strategies import SelectionContext, StrategyError, build_strategy
from mmal.testing.refusal_table import refused

NAMES = {
    10: 'a/000010.jpg',
    11: 'a/000011.jpg',
    12: 'b/000012.jpg',
    13: 'b/000013.jpg'
}


def context(cycle, labeled=()):
    return SelectionContext(
        labeled_ids=np.asarray(labeled, np.int64),
        class_counts=np.zeros(1, np.int64),
        class_image_counts=np.zeros(1, np.int64),
        num_classes=1,
        cycle=cycle)


def test_replays_file_names_cycle_by_cycle_in_recorded_order():
    s = build_strategy(
        dict(
            type='replay', picks={
                1: ['000012', '000010'],
                2: ['000011.jpg']
            }))
    s.begin_run(NAMES)
    rng = np.random.default_rng(0)
    pool = {i: {} for i in NAMES}
    sel = s.select(pool, 2, context(0), rng)
    assert sel.ids.tolist() == [12, 10]
    pool = {11: {}, 13: {}}
    assert s.select(pool, 1, context(1, [10, 12]), rng).ids.tolist() == [11]
    with pytest.raises(StrategyError, match='no recorded picks for cycle 3'):
        s.select(pool, 1, context(2), rng)


def test_needs_a_source_or_picks():
    with pytest.raises(StrategyError, match='replay needs the recorded'):
        build_strategy(dict(type='replay'))


def test_file_names_not_in_the_pool_are_refused_when_the_run_starts():
    s = build_strategy(dict(type='replay', picks={1: ['000010', 'x.jpg']}))
    with refused(
            StrategyError, r"1 of 2 file names are not images of the pool.*"
            r"\['x.jpg'\]", 'replay: file names not in the pool'):
        s.begin_run(NAMES)
