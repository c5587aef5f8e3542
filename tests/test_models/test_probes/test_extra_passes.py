"""Extra passes (MC-dropout, augmented views) on the toy Faster R-CNN and
on a planted stand-in probe: the pass_* fields, their matching, the view
mappings back to original pixels, reproducibility and the refusals."""
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample

from mmal.models.probes import (AugmentedViewPass, ExtraPassProbe, build_probe,
                                match_pass)
from mmal.strategies import StrategyError

FCS = ['roi_head.bbox_head.shared_fcs.0', 'roi_head.bbox_head.shared_fcs.1']
PASS = ('bboxes', 'cls_probs', 'pass_ious', 'pass_cls_probs',
        'pass_class_scores')


def run(model, batch, passes, fields=PASS):
    with build_probe(model, fields, passes=passes) as probe:
        return [f for _, f in probe.run(batch)]


def test_dropout_passes_on_faster_rcnn_and_refusals(toy_detector):
    model, batch = toy_detector('faster-rcnn_r18_fpn_toy.py', batch_size=1)
    # p = 0: every pass is the deterministic one
    same = run(model, batch,
               [dict(type='DropoutPass', times=2, p=0.0, after=FCS)])
    for f in same:
        n = len(f['bboxes'])
        assert n > 0
        assert f['pass_ious'].shape == (2, n)
        assert f['pass_cls_probs'].shape == (2, n, 7)
        assert f['pass_class_scores'].shape == (2, 6)
        np.testing.assert_allclose(f['pass_ious'], 1, atol=1e-5)
        np.testing.assert_allclose(
            f['pass_cls_probs'], np.stack([f['cls_probs']] * 2), atol=1e-5)
    cfg = [dict(type='DropoutPass', times=3, p=0.5, after=FCS, seed=1)]
    a, b = run(model, batch, cfg), run(model, batch, cfg)
    for fa, fb in zip(a, b):  # seeded: the same masks again
        np.testing.assert_array_equal(fa['pass_cls_probs'],
                                      fb['pass_cls_probs'])
        # dropout changes the distributions, and each pass differently
        assert not np.allclose(fa['pass_cls_probs'][0], fa['cls_probs'])
        assert not np.allclose(fa['pass_cls_probs'][0],
                               fa['pass_cls_probs'][1])
    # the hooks are gone after the pass: the plain probe is deterministic
    plain = run(model, batch, (), fields=('bboxes', 'cls_probs'))
    for f, g in zip(plain, same):
        np.testing.assert_allclose(f['cls_probs'], g['cls_probs'])
    # refusals, before anything runs
    with pytest.raises(StrategyError, match='no module'):
        build_probe(
            model,
            PASS,
            passes=[dict(type='DropoutPass', after=['roi_head.nope'])])
    with pytest.raises(StrategyError, match='no nn.Dropout'):
        build_probe(model, PASS, passes=[dict(type='DropoutPass')])
    with pytest.raises(StrategyError, match='none are declared'):
        build_probe(model, PASS)
    with pytest.raises(StrategyError, match='view must be one of'):
        build_probe(
            model, PASS, passes=[dict(type='AugmentedViewPass', view='spin')])


class BrightSpotProbe:
    """A planted detector: one detection, the box of the bright pixels of
    the input, in original pixels (divided by scale_factor)."""

    model = None

    def run(self, batch):
        out = []
        for img, s in zip(batch['inputs'], batch['data_samples']):
            ys, xs = torch.nonzero(img[0] > 128, as_tuple=True)
            sw, sh = s.metainfo['scale_factor']
            box = np.array([[
                xs.min() / sw,
                ys.min() / sh, (xs.max() + 1) / sw, (ys.max() + 1) / sh
            ]], np.float32)
            out.append((s,
                        dict(
                            bboxes=box,
                            scores=np.array([0.9], np.float32),
                            labels=np.array([1]),
                            cls_probs=np.array([[0.05, 0.9, 0.05]],
                                               np.float32))))
        return out


def bright_batch():
    img = torch.zeros((3, 40, 60), dtype=torch.uint8)
    img[:, 10:20, 4:16] = 255  # x 4-16, y 10-20 in the 60 x 40 input
    s = DetDataSample()
    s.set_metainfo(
        dict(
            img_id=7,
            img_shape=(40, 60),
            scale_factor=(0.5, 0.5),
            ori_shape=(80, 120)))
    return dict(inputs=[img], data_samples=[s])


@pytest.mark.parametrize('view', [
    dict(view='flip'),
    dict(view='resize', scale=0.5),
    dict(view='brightness', factor=1.2)
])
def test_views_map_boxes_back_to_original_pixels(view):
    batch = bright_batch()
    ref = BrightSpotProbe().run(batch)[0][1]
    np.testing.assert_allclose(ref['bboxes'], [[8, 20, 32, 40]])
    probe = ExtraPassProbe(BrightSpotProbe(), [AugmentedViewPass(**view)],
                           PASS)
    f = probe.run(batch)[0][1]
    np.testing.assert_allclose(f['pass_ious'], [[1.0]], atol=1e-5)
    np.testing.assert_allclose(f['pass_class_scores'], [[0, 0.9]])
    # the batch itself is untouched
    assert batch['data_samples'][0].metainfo['img_shape'] == (40, 60)
    assert int(batch['inputs'][0][0, 10, 5]) == 255


def test_match_pass_takes_the_best_overlap_of_any_class():
    ref = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    dets = dict(
        bboxes=np.array([[0, 0, 10, 5], [21, 20, 30, 30]], np.float32),
        scores=np.array([0.3, 0.8]),
        labels=np.array([0, 2]),
        cls_probs=np.array([[0.3, 0.1, 0.1, 0.5], [0.1, 0.0, 0.8, 0.1]]))
    iou, probs, cls = match_pass(ref, dets, 3)
    np.testing.assert_allclose(iou, [0.5, 0.9], atol=1e-6)
    np.testing.assert_allclose(probs, dets['cls_probs'])
    np.testing.assert_allclose(cls, [0.3, 0, 0.8])
    iou, probs, cls = match_pass(
        ref,
        dict(
            bboxes=np.zeros((0, 4)),
            scores=np.zeros(0),
            labels=np.zeros(0, int),
            cls_probs=np.zeros((0, 4))), 3)
    np.testing.assert_array_equal(iou, [0, 0])
    np.testing.assert_array_equal(probs, [[0, 0, 0, 1], [0, 0, 0, 1]])
