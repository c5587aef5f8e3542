"""PPAL: the class-difficulty weights, CCMS against a brute force of the
released formula, k-centroid diversity on a planted pool, and the training
hook's momentum update (planted tensors), and the hook leaves training
unchanged."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmal.apis import select_images
from mmal.engine.hooks import ClassQualityHook, hooks_train_state
from mmal.strategies import StrategyError
from mmal.strategies.functional import ccms_distances, k_centroid
from mmal.strategies.ppal import class_weights

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BOX = np.array([[0.0, 0.0, 40.0, 40.0]])


def image(labels, scores, feats):
    n = len(labels)
    return dict(
        bboxes=np.tile(BOX, (n, 1)),
        labels=np.asarray(labels),
        scores=np.asarray(scores, float),
        feats=np.asarray(feats, np.float32).reshape(n, -1))


def test_class_weights_run_from_one_to_one_plus_upper_bound():
    w = class_weights(np.array([1.0, 0.5, 0.0]), 0.2, 0.3)
    assert w[0] == pytest.approx(1.0)
    assert w[2] == pytest.approx(1.2)
    assert 1.0 < w[1] < 1.2


def test_a_hard_class_raises_its_images_uncertainty():
    # image 1: one detection of class 0; image 2: the same of class 1.
    # Same score, so the same entropy: only the class weight differs.
    pool = {
        1: image([0], [0.5], [[1, 0]]),
        2: image([1], [0.5], [[1, 0]]),
    }
    for hard, first in ((0, 1), (1, 2)):
        quality = np.full(2, 0.9)
        quality[hard] = 0.1  # low quality = difficult
        sel = select_images(
            dict(type='ppal', expand_ratio=1),
            pool,
            1,
            num_classes=2,
            train_state=dict(class_quality=quality))
        assert sel.ids.tolist() == [first]
        assert sel.scores[0] == pytest.approx(
            np.log(2) * class_weights(np.array([0.1]), 0.2, 0.3)[0])


def test_small_and_low_score_boxes_do_not_count():
    det = image([0, 0], [0.5, 0.01], [[1, 0], [1, 0]])
    small = dict(det, bboxes=np.array([[0, 0, 10, 10], [0, 0, 40, 40.]]))
    pool = {1: det, 2: small}
    sel = select_images(
        dict(type='ppal', expand_ratio=1),
        pool,
        2,
        num_classes=1,
        train_state=dict(class_quality=np.zeros(1)))
    # image 1 counts its 0.5 detection (the 0.01 one is below 0.05);
    # image 2's 0.5 detection is 10 px, under size_thr: nothing counts
    assert sel.ids.tolist() == [1, 2]
    assert sel.scores[1] == 0.0


def test_ppal_needs_the_class_quality():
    pool = {1: image([0], [0.5], [[1, 0]])}
    with pytest.raises(StrategyError, match='class_quality'):
        select_images(dict(type='ppal'), pool, 1, num_classes=1)


def brute_ccms(feats, labels, scores):
    """The released get_img_score_distance_matrix_slow (cosine, same
    label), per image pair, without its same-index diagonal shortcut."""
    m = len(feats)
    d = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            if not len(scores[j]):
                continue
            num = 0.0
            for a in range(len(scores[i])):
                fa = feats[i][a] / np.linalg.norm(feats[i][a])
                best = 2.0
                for b in range(len(scores[j])):
                    if labels[j][b] == labels[i][a]:
                        fb = feats[j][b] / np.linalg.norm(feats[j][b])
                        best = min(best, 1 - float(fa @ fb))
                num += scores[i][a] * best
            d[i, j] = num / (np.sum(scores[i]) + 1e-5)
    return 0.5 * (d + d.T)


def test_ccms_matches_the_released_formula():
    rng = np.random.default_rng(0)
    feats, labels, scores = [], [], []
    for n in (3, 0, 5, 1, 4, 2):
        feats.append(rng.normal(size=(n, 6)).astype(np.float32))
        labels.append(rng.integers(0, 3, n))
        scores.append(rng.uniform(0.1, 1, n).astype(np.float32))
    want = brute_ccms(feats, labels, scores)
    np.fill_diagonal(want, 0)
    for block in (2, 1024):  # several blocks, one block
        got = ccms_distances(feats, labels, scores, block=block)
        np.testing.assert_allclose(got, want, atol=1e-5)


def clustered_pool(rng):
    """Three groups of 6 near-duplicate images (the same class, features
    around one of three orthogonal directions); group A's images are the
    most uncertain (two detections each)."""
    pool, group = {}, {}
    for g, axis in enumerate((0, 1, 2)):
        for k in range(6):
            n = 2 if g == 0 else 1
            f = np.zeros((n, 3))
            f[:, axis] = 1.0
            f += rng.normal(scale=0.01, size=f.shape)
            img_id = 10 * g + k
            pool[img_id] = image([0] * n, [0.5] * n, f)
            group[img_id] = g
    return pool, group


def test_ccms_k_centroid_picks_diverse_images():
    pool, group = clustered_pool(np.random.default_rng(1))
    state = dict(class_quality=np.array([0.5]))
    top = select_images(
        dict(type='ppal', expand_ratio=1),
        pool,
        3,
        num_classes=1,
        train_state=state)
    assert {group[i] for i in top.ids} == {0}  # uncertainty alone: group A
    for seed in range(3):
        sel = select_images(
            dict(type='ppal', expand_ratio=6),
            pool,
            3,
            num_classes=1,
            seed=seed,
            train_state=state)
        assert sorted(group[i] for i in sel.ids) == [0, 1, 2]


def test_k_centroid_finds_planted_medoids():
    # points on a line in three groups; the medoid of each is its middle
    x = np.array([0, 1, 2, 10, 11, 12, 20, 21, 22], float)
    dist = np.abs(x[:, None] - x[None])
    for seed in range(4):
        med, rounds = k_centroid(dist, 3, np.random.default_rng(seed))
        assert sorted(med.tolist()) == [1, 4, 7]
        assert rounds >= 1


def test_class_quality_hook_update_follows_the_released_ema():
    hook = ClassQualityHook(base_momentum=0.9, quality_xi=0.6)
    hook.num_classes, hook.sigmoid, hook.decoded = 3, True, True
    hook.quality = torch.zeros(3)
    hook.momentum = torch.full((3, ), 0.9)
    hook._reset()
    # two positives of class 0 (p = 0.8, IoU 1 and 0.5), one of class 2
    # (p = 0.5, IoU 1), one background anchor (label 3)
    logit = torch.logit(torch.tensor([0.8, 0.8, 0.5, 0.5]))
    cls_score = torch.full((4, 3), -5.0)
    cls_score[0, 0] = cls_score[1, 0] = logit[0]
    cls_score[2, 2] = logit[2]
    labels = torch.tensor([0, 0, 2, 3])
    target = torch.tensor([[0, 0, 10, 10.]] * 4)
    pred = target.clone()
    pred[1] = torch.tensor([0, 0, 10, 5.])  # IoU 0.5
    hook.observe(cls_score, labels, pred, target)
    hook.update()
    q0 = (0.8**0.6 * 1 + 0.8**0.6 * 0.5**0.4) / 2
    q2 = 0.5**0.6
    np.testing.assert_allclose(
        hook.quality.numpy(), [0.1 * q0, 0, 0.1 * q2], rtol=1e-4)
    # class 1 had no positive: its momentum shrinks, the others reset
    np.testing.assert_allclose(
        hook.momentum.numpy(), [0.9, 0.81, 0.9], rtol=1e-6)
    hook.update()  # an iteration without positives: everything decays
    np.testing.assert_allclose(
        hook.quality.numpy(), [0.09 * q0, 0, 0.09 * q2], rtol=1e-4)
    np.testing.assert_allclose(
        hook.momentum.numpy(), [0.81, 0.729, 0.81], rtol=1e-6)
    assert set(hook.state()) == set(
        hooks_train_state([dict(type='mmal.ClassQualityHook')
                           ])) == {'class_quality', 'class_momentum'}


def test_unit_anchor_iou_equals_the_true_anchor_iou():
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
    from mmdet.structures.bbox import bbox_overlaps
    coder = DeltaXYWHBBoxCoder(
        target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2])
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(50, 2, generator=g) * 100
    anchors = torch.cat([xy, xy + 5 + torch.rand(50, 2, generator=g) * 60], 1)
    d1 = torch.randn(50, 4, generator=g)
    d2 = torch.randn(50, 4, generator=g)
    want = bbox_overlaps(
        coder.decode(anchors, d1), coder.decode(anchors, d2), is_aligned=True)
    hook = ClassQualityHook()
    hook.num_classes, hook.sigmoid, hook.decoded = 1, True, False
    hook.head = type('Head', (), {'bbox_coder': coder})()
    hook.quality, hook.momentum = torch.zeros(1), torch.full((1, ), 0.5)
    hook._reset()
    hook.quality_xi = 0.0  # quality = IoU
    hook.observe(
        torch.full((50, 1), 20.0), torch.zeros(50, dtype=torch.long), d1, d2)
    assert hook._sums[0].item() == pytest.approx(want.sum().item(), rel=1e-4)


def test_class_quality_hook_leaves_training_unchanged(toy_root, tmp_path):
    """The hook only reads the head's loss inputs: the toy PPAL RetinaNet
    trained for 4 iterations with and without it (same seed) ends with the
    same weights, and the hook has seen positives of the toy classes."""
    weights = []
    for hooked in (True, False):
        cfg = Config.fromfile(
            osp.join(REPO, 'configs/ppal/retinanet_r18_fpn_ppal_toy.py'))
        cfg.pop('al')
        cfg.work_dir = str(tmp_path / str(hooked))
        cfg.train_dataloader.dataset.data_root = toy_root
        cfg.train_dataloader.batch_size = 4
        cfg.train_dataloader.num_workers = 0
        cfg.train_dataloader.persistent_workers = False
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
        cfg.param_scheduler = []
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=0)
        cfg.log_level = 'WARNING'
        if not hooked:
            cfg.custom_hooks = []
        runner = Runner.from_cfg(cfg)
        runner.train()
        assert runner.iter == 4
        if hooked:
            hook, = [h for h in runner.hooks if type(h) is ClassQualityHook]
            assert (hook.quality > 0).any()
        weights.append({
            k: v.clone()
            for k, v in runner.model.state_dict().items()
        })
    assert weights[0].keys() == weights[1].keys()
    for k in weights[0]:
        torch.testing.assert_close(
            weights[0][k], weights[1][k], rtol=0, atol=0, msg=k)
