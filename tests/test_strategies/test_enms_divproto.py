"""Planted-answer tests of Entropy / ENMS / DivProto (Wu et al., CVPR 2022):
we build the detections so that we know which image each step must pick
and why."""
import numpy as np
import pytest

from mmal.active_learning.summary_store import (Summaries, SummaryStore,
                                                write_shard)
from mmal.apis import select_images
from mmal.strategies import (ENMS, DivProto, ENMSDivProto, Entropy,
                             SelectionContext, StrategyError, build_strategy)
from mmal.strategies.functional import binary_entropy, class_prototypes, enms

LN2 = np.log(2.0)


def context(class_counts):
    counts = np.asarray(class_counts)
    return SelectionContext(
        labeled_ids=np.zeros(0, np.int64),
        class_counts=counts,
        class_image_counts=np.minimum(counts, 1),
        num_classes=len(counts))


def summary(classes, confidence, protos, score):
    """A DivProto summary written by hand."""
    protos = np.asarray(protos, np.float32)
    protos /= np.linalg.norm(protos, axis=1, keepdims=True)
    return dict(
        score=np.float64(score),
        classes=np.asarray(classes, np.int32),
        confidence=np.asarray(confidence, np.float32),
        protos=protos.astype(np.float16))


def test_binary_entropy_eq1():
    h = binary_entropy([0.0, 0.5, 1.0, 0.2])
    assert h[0] == 0 and h[2] == 0
    assert h[1] == pytest.approx(LN2)
    assert h[3] == pytest.approx(-(0.2 * np.log(0.2) + 0.8 * np.log(0.8)))


def test_enms_suppresses_only_similar_same_class_detections():
    # 0: class 0, most uncertain; 1: class 0, cos 0.99 with 0 -> dropped;
    # 2: class 1, same direction as 0 but another class -> kept;
    # 3: class 0, orthogonal to 0 -> kept; 4: class 0, cos 0.6 with 3
    # (above 0.5) but 3 is picked first (higher entropy) -> dropped.
    labels = np.array([0, 0, 1, 0, 0])
    scores = np.array([0.5, 0.45, 0.3, 0.4, 0.2])
    feats = np.array(
        [[1, 0, 0], [0.99, 0.14, 0], [1, 0, 0], [0, 1, 0], [0, 0.6, 0.8]],
        np.float32)
    h = binary_entropy(scores)
    kept = enms(labels, h, feats, threshold=0.5)
    assert kept.tolist() == [0, 3, 2]
    s = ENMS().summarize(dict(labels=labels, scores=scores, feats=feats))
    assert s['score'] == pytest.approx(h[[0, 3, 2]].sum())
    # Basic detection entropy (Eq. 2) sums every detection.
    e = Entropy().summarize(dict(scores=scores))
    assert e['score'] == pytest.approx(h.sum())
    # A threshold above every similarity keeps all detections.
    assert sorted(enms(labels, h, feats, threshold=0.999)) == [0, 1, 2, 3, 4]


def test_prototype_is_entropy_weighted_mean():
    labels = np.array([2, 2, 5])
    h = np.array([0.6, 0.2, 0.3])
    feats = np.array([[1, 0], [0, 1], [3, 3]], np.float32)
    classes, protos = class_prototypes(labels, h, feats)
    assert classes.tolist() == [2, 5]
    np.testing.assert_allclose(protos[0], [0.75, 0.25], rtol=1e-6)
    np.testing.assert_allclose(protos[1], [3, 3])
    # Prototypes are built from every detection (Eq. 3 as written), the
    # summary keeps them unit-normalised with each class's top confidence.
    s = DivProto().summarize(
        dict(labels=labels, scores=np.array([0.2, 0.95, 0.9]), feats=feats))
    assert s['classes'].tolist() == [2, 5]
    np.testing.assert_allclose(s['confidence'], [0.95, 0.9])
    w = binary_entropy([0.2, 0.95])
    want = (w[0] * feats[0] + w[1] * feats[1])
    np.testing.assert_allclose(
        s['protos'][0].astype(np.float32),
        want / np.linalg.norm(want),
        atol=1e-3)


def test_intra_class_rejects_redundant_and_accepts_novel_class():
    # Sorted by score: 1, 2, 3. Image 2 has only class 0, nearly the same
    # prototype as image 1 -> M_g = 0.99 >= 0.7, rejected. Image 3 also
    # has that class-0 prototype but brings class 1, which no pick has ->
    # M_g = -inf, accepted.
    s = {
        1: summary([0], [0.9], [[1, 0, 0]], 3.0),
        2: summary([0], [0.9], [[0.99, 0.14, 0]], 2.0),
        3: summary([0, 1], [0.9, 0.9], [[1, 0, 0], [0, 0, 1]], 1.0),
    }
    strategy = ENMSDivProto(inter=False)
    picked, stats = strategy.divproto(
        np.array([1, 2, 3]),
        Summaries.from_dict(s),
        2,
        class_counts=np.zeros(2))
    assert picked == [1, 3]
    assert stats == dict(
        rejected_intra=1, rejected_inter=0, constrained=2, filled=0)
    # With a larger budget the fill-up takes the rejected image last.
    picked, stats = strategy.divproto(
        np.array([1, 2, 3]),
        Summaries.from_dict(s),
        3,
        class_counts=np.zeros(2))
    assert picked == [1, 3, 2] and stats['filled'] == 1
    # A class-0 prototype far from image 1's (cos 0.5 < 0.7) is novel.
    s[2] = summary([0], [0.9], [[0.5, 0.866, 0]], 2.0)
    picked, _ = strategy.divproto(
        np.array([1, 2, 3]),
        Summaries.from_dict(s),
        2,
        class_counts=np.zeros(2))
    assert picked == [1, 2]


def test_inter_class_quotas_decrement_and_minority_classes_retire():
    # 4 classes, labeled boxes [10, 0, 5, 1]: alpha 0.5 -> the 2 minority
    # classes are 1 and 3; beta 0.5, budget 4 -> quota round(0.5*4/2) = 1.
    strategy = ENMSDivProto(intra=False, alpha=0.5, beta=0.5)
    assert strategy.minority_quotas(np.array([10, 0, 5, 1]), 4) == {1: 1, 3: 1}
    p = [[1, 0]]
    s = {
        # majority class only -> rejected by M_p
        'A': summary([0], [0.9], p, 5),
        # class 1 at 0.8 (uses its quota, class 1 retires); class 3 at
        # 0.2 <= T_inter does not use class 3's quota
        'B': summary([1, 3], [0.8, 0.2], p * 2, 4),
        # class 1 has retired -> rejected
        'C': summary([1], [0.9], p, 3),
        # class 3 at 0.35 > 0.3 -> accepted, class 3 retires, pass ends
        'D': summary([3], [0.35], p, 2),
        # never reached by the constrained pass
        'E': summary([3], [0.9], p, 1),
    }
    ids = {k: i for i, k in enumerate('ABCDE')}
    summaries = {ids[k]: v for k, v in s.items()}
    ranked = np.array([ids[k] for k in 'ABCDE'])
    picked, stats = strategy.divproto(ranked, Summaries.from_dict(summaries),
                                      4, np.array([10, 0, 5, 1]))
    # constrained picks B, D; fill-up continues in score order: A, C.
    assert picked == [ids[k] for k in 'BDAC']
    assert stats == dict(
        rejected_intra=0, rejected_inter=2, constrained=2, filled=2)


def test_inter_class_test_is_strict_at_exactly_t_inter():
    # Class 1 is the minority class (2 labeled boxes against 10). Image 1
    # (ranked first) is the only one with class 1: a score of exactly
    # T_inter = 0.3 is not above it, so the image is rejected and comes in
    # through the fill-up. A float32 copy of 0.3 (0.30000001) would pass.
    feats = np.array([[1.0, 0.0]])
    labeled = {100: np.array([0] * 10 + [1, 1])}
    for p, accepted in ((0.3, False), (np.nextafter(0.3, 1), True)):
        det = {
            1: dict(labels=np.array([1]), scores=np.array([p]), feats=feats),
            2:
            dict(labels=np.array([0]), scores=np.array([0.25]), feats=feats),
        }
        sel = select_images(
            dict(type='DivProto'), det, budget=1, labeled=labeled)
        assert sel.extra['constrained'] == int(accepted), p
        assert sel.ids.tolist() == [1]  # by the test, or the fill-up
    s = DivProto().summarize(det[1])
    assert s['confidence'].dtype == np.float64


def test_minority_ties_take_lower_class_index():
    q = ENMSDivProto(
        alpha=0.5, beta=0.75).minority_quotas(
            np.array([3, 1, 1, 1]), budget=10)
    assert sorted(q) == [1, 2]
    assert set(q.values()) == {4}  # round(0.75 * 10 / 2)


def test_fill_up_intra_mode_reapplies_the_intra_test_first():
    s = {
        1: summary([0], [0.9], [[1, 0]], 4.0),
        2: summary([0], [0.1], [[1, 0.01]], 3.0),  # redundant with 1
        3: summary([0], [0.1], [[0, 1]], 2.0),  # novel, fails M_p
    }
    for fill_up, want in (('sorted', [1, 2, 3]), ('intra', [1, 3, 2])):
        strategy = ENMSDivProto(fill_up=fill_up)
        picked, _ = strategy.divproto(
            np.array([1, 2, 3]),
            Summaries.from_dict(s),
            3,
            class_counts=np.array([0]))
        assert picked == want, fill_up


def test_table1_rows_by_config():
    rows = {
        'Entropy': (False, False),
        'ENMS': (True, False),
        'DivProto': (False, True),
        'ENMSDivProto': (True, True),
    }
    for name, (use_enms, use_divproto) in rows.items():
        s = build_strategy(dict(type=name))
        assert (s.use_enms, s.use_divproto) == (use_enms, use_divproto)
        assert (s.t_enms, s.t_intra, s.t_inter, s.alpha,
                s.beta) == (0.5, 0.7, 0.3, 0.5, 0.75)
    assert build_strategy(dict(type='Entropy')).requires == ('scores', )
    with pytest.raises(ValueError, match='fill_up'):
        ENMSDivProto(fill_up='random')
    with pytest.raises(StrategyError, match="unexpected keyword.*t_enm"):
        build_strategy(dict(type='ENMSDivProto', t_enm=0.3))
    # selected.json records every effective hyper-parameter
    record = build_strategy(dict(type='DivProto', t_intra=0.6)).describe()
    assert record['type'] == 'DivProto' and record['t_intra'] == 0.6
    assert (record['use_enms'], record['t_inter']) == (False, 0.3)


def random_detections(rng, n_images, num_classes=5, dim=8):
    out = {}
    centres = rng.normal(size=(num_classes, dim))
    for i in range(n_images):
        n = int(rng.integers(0, 12))
        labels = rng.integers(0, num_classes, n)
        out[100 + i] = dict(
            labels=labels,
            scores=rng.uniform(0.05, 1, n),
            feats=centres[labels] + 0.5 * rng.normal(size=(n, dim)))
    return out


def test_same_seed_same_selection_and_seed_only_breaks_ties():
    rng = np.random.default_rng(3)
    det = random_detections(rng, 60)
    cfg = dict(type='ENMSDivProto')
    a = select_images(cfg, det, 15, seed=1, num_classes=5)
    b = select_images(cfg, det, 15, seed=1, num_classes=5)
    assert a.ids.tolist() == b.ids.tolist()
    # Scores have no ties here, so another seed picks the same images.
    c = select_images(cfg, det, 15, seed=2, num_classes=5)
    assert a.ids.tolist() == c.ids.tolist()
    # Equal scores (no detections at all) are ordered by the seed.
    empty = {
        i:
        dict(
            labels=np.zeros(0, int),
            scores=np.zeros(0),
            feats=np.zeros((0, 4)))
        for i in range(30)
    }
    orders = {
        tuple(select_images(cfg, empty, 10, seed=s, num_classes=3).ids)
        for s in range(4)
    }
    assert len(orders) > 1


def test_one_chunk_or_many_gives_the_same_selection(tmp_path):
    rng = np.random.default_rng(5)
    det = random_detections(rng, 50)
    strategy = ENMSDivProto()
    summaries = {i: strategy.summarize(f) for i, f in det.items()}
    ids = list(summaries)
    one, many = tmp_path / 'one', tmp_path / 'many'
    one.mkdir()
    many.mkdir()
    write_shard(str(one / 'rank0-00000'), ids, [summaries[i] for i in ids])
    for k in range(0, 50, 7):
        part = ids[k:k + 7]
        write_shard(
            str(many / f'rank{k % 2}-{k:05d}'), part,
            [summaries[i] for i in part])
    ctx = context(np.array([5, 3, 0, 2, 9]))
    results = []
    for d in (one, many):
        loaded = SummaryStore(str(d)).read(ids)
        results.append(
            strategy.select(loaded, 12, ctx, np.random.default_rng(0)))
    assert results[0].ids.tolist() == results[1].ids.tolist()
    direct = strategy.select(
        Summaries.from_dict(summaries), 12, ctx, np.random.default_rng(0))
    assert direct.ids.tolist() == results[0].ids.tolist()


def test_pool_smaller_than_budget_takes_everything():
    rng = np.random.default_rng(0)
    det = random_detections(rng, 7)
    sel = select_images(dict(type='ENMSDivProto'), det, 20, num_classes=5)
    assert sorted(sel.ids.tolist()) == sorted(det)


@pytest.mark.parametrize('key,value', [('t_intra', -3), ('t_enms', 1.5),
                                       ('t_inter', -0.1),
                                       ('min_score', float('nan'))])
def test_thresholds_out_of_range_are_refused(key, value):
    with pytest.raises(StrategyError, match=f'{key} must be in'):
        build_strategy(dict(type='enms-divproto', **{key: value}))
