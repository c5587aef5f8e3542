"""BiB (box-in-box) and its variants, the loss baseline: planted pairs,
planted picks, seeding rules, chunked vs in-memory selection."""
import numpy as np
import pytest

from mmal.active_learning.summary_store import (Summaries, SummaryStore,
                                                write_shard)
from mmal.apis import select_images
from mmal.strategies import SelectionContext, build_strategy
from mmal.strategies.functional import box_in_box_pairs

SMALL = [10, 10, 20, 20]  # area 100


def pairs(boxes, labels, **kw):
    s, l_ = box_in_box_pairs(np.array(boxes, float), np.array(labels), **kw)
    return list(zip(s.tolist(), l_.tolist()))


def test_nested_boxes_of_the_same_class_pair_other_classes_do_not():
    big = [0, 0, 40, 40]
    assert pairs([SMALL, big], [1, 1]) == [(0, 1)]
    assert pairs([SMALL, big], [1, 2]) == []
    # the small box is never its own large box, and a large box does not
    # pair with itself through a duplicate
    assert pairs([big, big], [1, 1]) == []


def test_area_ratio_and_cover_thresholds_are_inclusive():
    kw = dict(arithmetic='mmdet')  # no +1: the covers below are exact
    # area exactly 3 x 100 = 300 (10 x 30), small box fully inside
    assert pairs([SMALL, [10, 0, 20, 30]], [0, 0], **kw) == [(0, 1)]
    # area 290 < 300: no pair
    assert pairs([SMALL, [10, 0, 20, 29]], [0, 0], **kw) == []
    # cover exactly 0.8: 8 of the small box's 10 columns inside
    assert pairs([SMALL, [12, 0, 40, 40]], [0, 0], **kw) == [(0, 1)]
    # cover 0.7: no pair
    assert pairs([SMALL, [13, 0, 40, 40]], [0, 0], **kw) == []
    # other thresholds by argument
    assert pairs([SMALL, [10, 0, 20, 29]], [0, 0], mu=2.9, **kw) == [(0, 1)]
    assert pairs([SMALL, [13, 0, 40, 40]], [0, 0], delta=0.7, **kw) == [(0, 1)]
    # the default, +1 in the cover: 9 x 11 / (11 x 11) = 0.82 and 0.73
    assert pairs([SMALL, [12, 0, 40, 40]], [0, 0]) == [(0, 1)]
    assert pairs([SMALL, [13, 0, 40, 40]], [0, 0]) == []


@pytest.mark.parametrize(
    'small,large,official,inclusive,plain',
    [
        # cover with +1: 4 x 5 / (5 x 5) = 0.8 (exactly, in float32); on
        # inclusive corners or without +1: 3 x 4 / (4 x 4) = 0.75
        ([0, 0, 4, 4], [1, 0, 40, 40], True, False, False),
        # area ratio 17^2 / 10^2 = 2.89 < 3; on inclusive corners
        # 16^2 / 9^2 = 3.16
        ([0, 0, 10, 10], [0, 0, 17, 17], False, True, False),
        # a zero-width small box: area 0 and a +1 cover of 1 pairs it in
        # the official code; inclusive corners make it x2 < x1 (cover 0);
        # mmdet's arithmetic skips it
        ([5, 5, 5, 10], [0, 0, 40, 40], True, False, False),
    ])
def test_box_arithmetic_of_the_official_code_and_the_alternatives(
        small, large, official, inclusive, plain):
    for arithmetic, want in (('wetectron', official), ('wetectron-inclusive',
                                                       inclusive), ('mmdet',
                                                                    plain)):
        got = pairs([small, large], [0, 0], arithmetic=arithmetic)
        assert got == ([(0, 1)] if want else []), arithmetic
    # the strategy's default is the official arithmetic
    bib = build_strategy(dict(type='bib'))
    assert bib.box_arithmetic == 'wetectron'
    got = bib.summarize(fields([small, large], [0, 0]))['pair_labels']
    assert len(got) == int(official)


def test_paper_pairs_every_large_box_code_only_the_first():
    boxes = [SMALL, [0, 0, 40, 40], [5, 5, 60, 60]]
    assert pairs(boxes, [0, 0, 0], pairing='all') == [(0, 1), (0, 2)]
    assert pairs(boxes, [0, 0, 0], pairing='first') == [(0, 1)]


def fields(boxes, labels, scores=None, img_labels=None, dim=3, seed=0):
    """A MIST image's fields; ``box_feats`` (at the final boxes) are the
    proposal ``feats`` + 100, no query boxes."""
    n = len(boxes)
    feats = np.random.default_rng(seed).normal(size=(n, dim))
    return dict(
        bboxes=np.array(boxes, np.float32).reshape(-1, 4),
        labels=np.array(labels, np.int64),
        scores=np.array(scores if scores is not None else [0.9] * n,
                        np.float32),
        feats=feats.astype(np.float32),
        box_feats=(feats + 100).astype(np.float32),
        query_boxes=np.zeros((0, 4), np.float32),
        query_feats=np.zeros((0, dim), np.float32),
        img_labels=np.array(
            img_labels if img_labels is not None else sorted(set(labels)),
            np.int64))


def test_summary_keeps_scored_detections_of_the_image_labels_only():
    bib = build_strategy(dict(type='bib'))
    f = fields([SMALL, [0, 0, 40, 40]], [2, 2])
    s = bib.summarize(f)
    assert s['pair_labels'].tolist() == [2]
    assert s['pair_feats'].dtype == np.float16
    # features pooled at the final boxes (the official code) ...
    assert 'box_feats' in bib.requires and 'feats' not in bib.requires
    np.testing.assert_allclose(
        s['pair_feats'][0],
        np.concatenate([f['box_feats'][0], f['box_feats'][1]]),
        rtol=1e-3)
    # ... or those of the detections' proposals
    old = build_strategy(dict(type='bib', pair_features='proposals'))
    assert 'feats' in old.requires and 'box_feats' not in old.requires
    np.testing.assert_allclose(
        old.summarize(f)['pair_feats'][0],
        np.concatenate([f['feats'][0], f['feats'][1]]),
        rtol=1e-3)
    np.testing.assert_array_equal(s['pair_boxes'][0], SMALL + [0, 0, 40, 40])
    # class 2 is not among the image-level labels: ignored
    s = bib.summarize(fields([SMALL, [0, 0, 40, 40]], [2, 2], img_labels=[1]))
    assert len(s['pair_feats']) == 0 and s['pair_feats'].shape[1] == 6
    # ... unless image labels are not used
    free = build_strategy(dict(type='bib', use_image_labels=False))
    assert 'img_labels' not in free.requires
    f = fields([SMALL, [0, 0, 40, 40]], [2, 2], img_labels=[1])
    assert len(free.summarize(f)['pair_labels']) == 1
    # the large box scored 0.1: not above the threshold
    s = bib.summarize(fields([SMALL, [0, 0, 40, 40]], [2, 2], [0.9, 0.1]))
    assert len(s['pair_labels']) == 0


def test_score_threshold_per_cycle():
    # The official COCO setting: 0.5 in the first acquisition, 0.1 later.
    # Two nested class-0 boxes scored 0.3 pair from the second one on.
    bib = build_strategy(dict(type='bib', score_thr=(0.5, 0.1)))
    f = fields([SMALL, [0, 0, 40, 40]], [0, 0], [0.3, 0.3])
    found = []
    for cycle in range(4):
        bib.begin_cycle(cycle)
        found.append(len(bib.summarize(f)['pair_labels']))
    assert found == [0, 1, 1, 1]
    assert [bib.threshold(c) for c in range(3)] == [0.5, 0.1, 0.1]
    # one threshold for every cycle by default
    plain = build_strategy(dict(type='bib'))
    plain.begin_cycle(0)
    assert len(plain.summarize(f)['pair_labels']) == 1
    # recorded with the selection
    det = {1: f, 2: fields([SMALL], [0])}
    for cycle, want in ((0, 0.5), (1, 0.1)):
        sel = select_images(
            dict(type='bib', score_thr=[0.5, 0.1]), det, 1, cycle=cycle)
        assert sel.extra['score_thr'] == want
        assert sel.extra['images_with_pairs'] == int(cycle > 0)
    # compared in float32, as the official code: float32(0.1) is not above
    # 0.1
    f = fields([SMALL, [0, 0, 40, 40]], [0, 0], [0.1, 0.9])
    assert len(plain.summarize(f)['pair_labels']) == 0


def image(*pair_feats, dim=2):
    """A summary with the given ``dim``-d pair features (rows)."""
    f = np.array(pair_feats, np.float16).reshape(len(pair_feats), dim)
    n = len(f)
    return dict(
        pair_feats=f,
        pair_boxes=np.zeros((n, 8), np.float32),
        pair_labels=np.zeros(n, np.int64),
        det_boxes=np.zeros((0, 4), np.float32),
        det_scores=np.zeros(0, np.float32),
        det_labels=np.zeros(0, np.int64))


def context(labeled_summaries=None, cycle=0):
    labeled = labeled_summaries or {}
    return SelectionContext(
        labeled_ids=np.array(sorted(labeled), np.int64),
        class_counts=np.zeros(1, np.int64),
        class_image_counts=np.zeros(1, np.int64),
        num_classes=1,
        cycle=cycle,
        labeled_summaries=Summaries.from_dict(labeled))


def run(summaries, budget, seed=0, ctx=None, history=(), **cfg):
    bib = build_strategy(dict(type='bib', **cfg))
    bib.begin_cycle((ctx or context()).cycle, history)
    return bib.select(
        Summaries.from_dict(summaries), budget, ctx or context(),
        np.random.default_rng(seed))


X1, X2, X3, Z = [0, 0], [5, 0], [0, 5], [60, 60]


def planted_pool():
    return {
        1: image(X1, X2, X3),  # most pairs: the first-cycle seed
        2: image(X2, X2),  # same as two of image 1's pairs
        3: image(Z),  # far from everything
        4: image(X3, X3),
        5: image(),  # no pair
    }


@pytest.mark.parametrize('trials', [True, False])
def test_first_cycle_seed_is_the_image_with_most_pairs_and_its_pairs_all_become_centres(  # noqa: E501
        trials):
    for seed in range(8):
        sel = run(planted_pool(), 2, seed, local_trials=trials)
        # 2 and 4 coincide with pairs of image 1 (not only with the drawn
        # one): weight 0, so 3 is the only possible second pick.
        assert sel.ids.tolist() == [1, 3]
        assert sel.scores[0] == 3  # the seed's number of pairs
        assert sel.scores[1] == pytest.approx(np.hypot(55, 60), rel=1e-3)
        assert sel.extra['by_bib'] == 2 and sel.extra['filled'] == 0


def test_seed_ties_are_broken_at_random_with_the_seed():
    pool = {i: image([10.0 * i, 0], [10.0 * i, 1]) for i in range(6)}
    firsts = {int(run(pool, 1, seed).ids[0]) for seed in range(30)}
    assert len(firsts) > 1
    assert run(pool, 3, 7).ids.tolist() == run(pool, 3, 7).ids.tolist()


def recorded(*ids):
    """The ``extra`` of an earlier selection that recorded a pair (any
    boxes) for each of ``ids``."""
    return dict(pair_boxes={str(i): [SMALL + [0, 0, 40, 40]] for i in ids})


def test_later_cycles_seed_with_the_previously_selected_pairs():
    pool = {10: image(X1, X1, X1), 11: image(Z)}
    # first cycle: the image with most pairs
    assert run(pool, 1).ids.tolist() == [10]
    # later cycle: image 10's pairs coincide with a labeled image's pair
    labeled = {99: image(X1)}
    sel = run(pool, 1, ctx=context(labeled, cycle=1), history=[recorded(99)])
    assert sel.ids.tolist() == [11]
    assert sel.extra['centre_pairs'] == 1
    # a labeled image without recorded pairs (picked at random by U+BiB,
    # by the fill-up, or in an initial set) is no centre ...
    sel = run(pool, 1, ctx=context(labeled, cycle=1), history=[recorded(7)])
    assert sel.ids.tolist() == [10] and sel.extra['centre_pairs'] == 0
    none = dict(pair_boxes={'99': []})  # recorded, with no pair
    sel = run(pool, 1, ctx=context(labeled, cycle=1), history=[none])
    assert sel.ids.tolist() == [10] and sel.extra['centre_pairs'] == 0
    # ... unless pairs are re-detected on every labeled image
    sel = run(pool, 1, ctx=context(labeled, cycle=1), later_pairs='redetect')
    assert sel.ids.tolist() == [11] and sel.extra['centre_pairs'] == 1


def test_later_cycles_keep_the_pairs_recorded_at_selection():
    # Image 99 was selected with the pair SMALL in [0, 0, 40, 40]; the
    # current model detects one box there, so re-detection finds no pair.
    # The recorded boxes are featurised again (query_feats: [0] and [0],
    # the pair at the origin), which makes image 10's three pairs (at the
    # origin) redundant: image 11 comes next. Re-detection has no centre
    # and starts again from the image with the most pairs, 10.
    def dets(n_small, feat):
        boxes = [[10 + i, 10, 20 + i, 20] for i in range(n_small)]
        f = fields(boxes + [[0, 0, 40, 40]], [0] * (n_small + 1), dim=1)
        f['box_feats'] = np.full((n_small + 1, 1), feat, np.float32)
        return f

    pool = {10: dets(3, 0.0), 11: dets(1, 50.0)}
    now = fields([[0, 0, 40, 40]], [0], dim=1)
    cfg = dict(type='bib')
    bib = build_strategy(cfg)
    bib.begin_cycle(1, [recorded(99)])
    now['query_boxes'] = bib.query_boxes(99)
    assert now['query_boxes'].tolist() == [SMALL, [0, 0, 40, 40]]
    now['query_feats'] = np.zeros((2, 1), np.float32)
    s = bib.summarize(now)
    assert s['pair_boxes'].tolist() == [SMALL + [0, 0, 40, 40]]
    picks = {}
    for later in ('recorded', 'redetect'):
        sel = select_images(
            dict(cfg, later_pairs=later),
            pool,
            1,
            labeled=[99],
            cycle=1,
            labeled_detections={99: now},
            history=[recorded(99)])
        picks[later] = sel.ids.tolist()
    assert picks == dict(recorded=[11], redetect=[10])
    # images that are not labeled ask for no boxes
    assert bib.query_boxes(10).shape == (0, 4)


def test_selection_records_the_pairs_of_its_bib_picks():
    pool = {i: image() for i in range(6)}
    pool[3] = image(X1, X2)
    pool[4] = image(Z)
    pool[3]['pair_boxes'][:] = np.arange(16).reshape(2, 8)
    sel = run(pool, 4, 0)
    assert sorted(sel.extra['pair_boxes']) == [3, 4]  # not the fill-up
    assert sel.extra['pair_boxes'][3].tolist() == np.arange(16).reshape(
        2, 8).tolist()
    # U+BiB records its BiB half only: its random picks never become
    # centres
    both = u_plus_bib(pool, 4, 0)
    assert sorted(both.extra['pair_boxes']) == sorted(both.ids[:2].tolist())


def test_fill_up_when_few_images_have_pairs():
    pool = {i: image() for i in range(6)}
    pool[3] = image(X1, X2)
    pool[4] = image(Z)
    for seed in range(5):
        sel = run(pool, 5, seed)
        ids = sel.ids.tolist()
        assert len(ids) == 5 and len(set(ids)) == 5
        assert set(ids[:2]) == {3, 4}  # pairs first, then the fill-up
        assert sel.extra['by_bib'] == 2 and sel.extra['filled'] == 3
    # pool smaller than the budget: everything
    assert sorted(run(pool, 50).ids.tolist()) == list(range(6))


def cluster_pool():
    """Seed image 0 at the origin; ten one-pair images at distance 10; one
    outlier at distance 20. Picking a cluster image lowers the potential by
    about 10 x 100, the outlier only by 400."""
    pool = {0: image([0, 0], [0, 0])}
    for i in range(1, 11):
        pool[i] = image([10, 0.001 * i])
    pool[11] = image([0, 20])
    return pool


def test_greedy_local_trials_keep_the_candidate_lowering_the_potential():
    for seed in range(10):
        sel = run(cluster_pool(), 2, seed, local_trials=60)
        assert sel.ids[0] == 0 and 1 <= sel.ids[1] <= 10
        assert sel.extra['local_trials'] == 60
    one_draw = {
        int(run(cluster_pool(), 2, seed, local_trials=False).ids[1])
        for seed in range(60)
    }
    assert 11 in one_draw and one_draw & set(range(1, 11))


def test_local_trials_follow_the_cumulative_count_of_the_official_code():
    bib = build_strategy(dict(type='bib'))
    old = build_strategy(dict(type='bib', local_trials='budget'))
    # 2 + int(ln(cycle x B)), official cycles 1..5 = context.cycle 0..4
    for budget, want in ((50, [5, 6, 7, 7, 7]), (160, [7, 7, 8, 8, 8])):
        got = [bib.num_trials(budget, context(cycle=c))[0] for c in range(5)]
        assert got == want
        assert {old.num_trials(budget, context(cycle=c))[0]
                for c in range(5)} == {want[0]}
    assert build_strategy(dict(type='bib',
                               local_trials=True)).local_trials == 'cumulative'
    # recorded in selected.json's details
    labeled = {99: image([0, 0])}
    sel = run(
        cluster_pool(),
        1,
        ctx=context(labeled, cycle=9),
        history=[recorded(99)])
    assert (sel.extra['local_trials'], sel.extra['local_trials_k']) == (4, 10)


def test_cumulative_local_trials_change_the_pick_rates():
    # A labeled pair at the origin; ten one-pair images near (10, 0) and an
    # outlier at distance 30: a draw hits the outlier with p = 900 / 1900,
    # and greedy trials keep it only when every trial drew it. Budget 1 at
    # the 100th acquisition: 'budget' draws 2 + int(ln 1) = 2 trials (rate
    # p^2 = 0.22), 'cumulative' 2 + int(ln 100) = 6 (p^6 = 0.011).
    pool = cluster_pool()
    del pool[0]
    pool[11] = image([0, 30])
    ctx = context({99: image([0, 0])}, cycle=99)

    def outlier_rate(rule):
        return np.mean([
            int(
                run(pool,
                    1,
                    seed,
                    ctx=ctx,
                    history=[recorded(99)],
                    local_trials=rule).ids[0]) == 11 for seed in range(100)
        ])

    # 100 draws: standard errors 0.042 and 0.010; bounds 3 of them away
    cumulative, budget = outlier_rate('cumulative'), outlier_rate('budget')
    assert cumulative < 0.05 and budget > 0.1


def test_squared_and_linear_sampling_weights():

    def outlier_rate(sampling):
        hits = [
            int(
                run(cluster_pool(),
                    2,
                    seed,
                    local_trials=False,
                    sampling=sampling).ids[1]) == 11 for seed in range(400)
        ]
        return np.mean(hits)

    # P(outlier) = 400 / (400 + 10 x 100) squared, 20 / (20 + 10 x 10)
    assert 0.22 < outlier_rate('squared') < 0.36
    assert 0.10 < outlier_rate('linear') < 0.24


def random_pool(rng, n, dim=16, max_pairs=4):
    return {
        100 + i:
        image(
            *rng.normal(size=(rng.integers(0, max_pairs + 1), dim)), dim=dim)
        for i in range(n)
    }


def test_same_seed_same_selection():
    pool = random_pool(np.random.default_rng(0), 40)
    a = run(pool, 10, seed=5)
    b = run(pool, 10, seed=5)
    assert a.ids.tolist() == b.ids.tolist()
    np.testing.assert_array_equal(a.scores, b.scores)
    assert len(set(a.ids.tolist())) == 10


@pytest.mark.parametrize('type_', ['bib', 'u-plus-bib'])
def test_chunked_selection_from_shards_equals_in_memory(type_, tmp_path):
    rng = np.random.default_rng(1)
    pool = random_pool(rng, 60)
    ids = sorted(pool)
    for k, part in enumerate(np.array_split(ids, 4)):
        write_shard(
            str(tmp_path / f'rank0-{k:05d}'), [int(i) for i in part],
            [pool[int(i)] for i in part])
    mapped = SummaryStore(str(tmp_path)).read()
    assert not mapped[ids[0]]['pair_feats'].flags.writeable  # mapped
    in_memory = build_strategy(dict(type=type_, block_size=1 << 20))
    chunked = build_strategy(dict(type=type_, block_size=3))
    want = in_memory.select(
        Summaries.from_dict(pool), 12, context(), np.random.default_rng(2))
    got = chunked.select(mapped, 12, context(), np.random.default_rng(2))
    assert got.ids.tolist() == want.ids.tolist()
    np.testing.assert_allclose(got.scores, want.scores, rtol=1e-5)
    # the images of a shard are one run of rows: one block per shard
    assert len(mapped.matrix('pair_feats', 1 << 20).blocks) == 4
    rows = mapped.matrix('pair_feats', 5)
    feats = [mapped[i]['pair_feats'] for i in ids]
    allrows = np.concatenate([f for f in feats if len(f)]).astype(np.float32)
    np.testing.assert_array_equal(
        rows.rows(np.arange(rows.num_rows)[::-1]), allrows[::-1])


def test_random_projection_is_fixed_and_shrinks_the_features():
    bib = build_strategy(dict(type='bib', projection_dim=4))
    f = fields([SMALL, [0, 0, 40, 40]], [0, 0], dim=50)
    a = bib.summarize(f)['pair_feats']
    b = build_strategy(dict(type='bib',
                            projection_dim=4)).summarize(f)['pair_feats']
    assert a.shape == (1, 4)
    np.testing.assert_array_equal(a, b)


def test_u_bib_draws_images_with_pairs_first():
    pool = {i: dict(num_pairs=np.int64(i % 3 == 0)) for i in range(12)}
    ubib = build_strategy(dict(type='u-bib'))
    for seed in range(5):
        sel = ubib.select(
            Summaries.from_dict(pool), 3, context(),
            np.random.default_rng(seed))
        assert set(sel.ids.tolist()) <= {0, 3, 6, 9}
    sel = ubib.select(
        Summaries.from_dict(pool), 6, context(), np.random.default_rng(0))
    assert {0, 3, 6, 9} <= set(sel.ids.tolist())
    assert sel.extra == dict(with_pairs=4, filled=2)
    counted = ubib.summarize(fields([SMALL, [0, 0, 40, 40]], [1, 1]))
    assert int(counted['num_pairs']) == 1


def u_plus_bib(pool, budget, seed, ctx=None, **cfg):
    return build_strategy(dict(type='u-plus-bib', **cfg)).select(
        Summaries.from_dict(pool), budget, ctx or context(),
        np.random.default_rng(seed))


def test_u_plus_bib_takes_the_bib_half_first_then_random():
    pool = planted_pool()
    pool.update({i: image() for i in range(20, 30)})
    for seed in range(6):
        sel = u_plus_bib(pool, 4, seed)
        # BiB's half as BiB alone would pick it, then 2 random others
        assert sel.ids.tolist()[:2] == [1, 3]
        assert sel.extra['by_bib'] == 2 and sel.extra['filled'] == 0
        assert sel.extra['randomly_selected'] == 2
        assert len(set(sel.ids.tolist())) == 4
        assert sel.scores[2:].tolist() == [0, 0]
        old = u_plus_bib(pool, 4, seed, order='random_first')
        assert old.extra['preselected'] == 2
        assert old.extra['by_bib'] + old.extra['filled'] == 2
    # odd budgets: the BiB half is the larger one
    odd = u_plus_bib(pool, 5, 0).extra
    assert (odd['by_bib'] + odd['filled'], odd['randomly_selected']) == (3, 2)
    from mmal.strategies import StrategyError
    with pytest.raises(StrategyError, match='order must be one of'):
        build_strategy(dict(type='u-plus-bib', order='bib_last'))


def test_u_plus_bib_order_changes_the_pick_rates():
    # Every image has pairs. Image 1 has the most (three near the origin):
    # BiB first seeds with it in every run. Random first seeds with the
    # random image's pair instead (image i: one pair at 100 e_i), and image
    # 1 comes in when drawn at random (1/10) or by BiB, whose two trials
    # draw it with p = 3 x 100^2 / (3 x 100^2 + 8 x 2 x 100^2) each: in
    # 0.1 + 0.9 (1 - (1 - p)^2) = 0.36 of the runs.
    eye = 100 * np.eye(10)
    pool = {1: image([0] * 10, [1] + [0] * 9, [0, 1] + [0] * 8, dim=10)}
    pool.update({i: image(eye[i - 1], dim=10) for i in range(2, 11)})

    def rate(order):
        return np.mean([
            1 in u_plus_bib(pool, 2, seed, order=order).ids.tolist()
            for seed in range(100)
        ])

    assert rate('bib_first') == 1
    assert rate('random_first') < 0.55  # 4 standard errors above 0.36


def test_loss_ranks_the_planted_high_loss_image_first():
    det = {i: dict(loss=np.float32(0.1 * i)) for i in range(5)}
    det[7] = dict(loss=np.float32(9.0))
    det[8] = dict(loss=np.float32(np.nan))
    sel = select_images(dict(type='loss'), det, 3)
    assert sel.ids.tolist() == [7, 4, 3]
    assert select_images(dict(type='loss'), det, 7).ids[-1] == 8


@pytest.mark.parametrize('bad', [
    dict(pairing='every'),
    dict(box_arithmetic='plus-one'),
    dict(sampling='cubic'),
    dict(local_trials=0),
    dict(local_trials='sometimes'),
    dict(mu=0.5),
    dict(delta=0),
    dict(fill_up='entropy'),
    dict(projection_dim=-3),
])
def test_bad_settings_are_refused(bad):
    from mmal.strategies import StrategyError
    with pytest.raises(StrategyError, match=list(bad)[0]):
        build_strategy(dict(type='bib', **bad))


@pytest.mark.parametrize('value', [-0.1, 1.0, float('nan')])
def test_bib_score_threshold_out_of_range_is_refused(value):
    from mmal.strategies import StrategyError
    with pytest.raises(StrategyError, match='score_thr must be in'):
        build_strategy(dict(type='bib', score_thr=value))
    with pytest.raises(StrategyError, match=r'score_thr must be in.*in \('):
        build_strategy(dict(type='bib', score_thr=(0.5, value)))


def test_bib_score_threshold_sequence_must_hold_numbers():
    from mmal.strategies import StrategyError
    for bad in ([], ['0.5'], (0.5, None)):
        with pytest.raises(StrategyError, match='score_thr must be'):
            build_strategy(dict(type='bib', score_thr=bad))
