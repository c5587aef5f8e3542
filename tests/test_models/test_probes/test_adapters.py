"""Probe adapters take class distributions and features from the same
forward pass as mmdet's own prediction, for Faster R-CNN, RetinaNet and
SSD."""
import numpy as np
import pytest
import torch

from mmal.models.probes import (AnchorHeadProbe, PredictionProbe, SSDProbe,
                                TwoStageRoIProbe, build_probe)
from mmal.strategies import StrategyError

ALL = ('bboxes', 'scores', 'labels', 'cls_probs', 'feats', 'img_feat')
#: The adapter build_probe picks for each toy config.
ADAPTERS = {
    'faster-rcnn_r18_fpn_toy.py': TwoStageRoIProbe,
    'retinanet_r18_fpn_toy.py': AnchorHeadProbe,
    'ssd_r18_toy.py': SSDProbe,
}


@pytest.mark.parametrize('config', [
    'faster-rcnn_r18_fpn_toy.py', 'retinanet_r18_fpn_toy.py', 'ssd_r18_toy.py'
])
def test_probe_fields_come_from_the_prediction_forward(config, toy_detector):
    model, batch = toy_detector(config)
    with torch.no_grad():
        plain = model.test_step(batch)
    calls = []
    model.backbone.register_forward_hook(lambda *a: calls.append(1))
    with build_probe(model, ALL) as probe:
        assert type(probe) is ADAPTERS[config]
        out = probe.run(batch)
    assert len(calls) == 1  # one forward of the batch, no second pass
    n_cls = model.roi_head.bbox_head.num_classes if hasattr(
        model, 'roi_head') else model.bbox_head.num_classes
    for ref, (sample, f) in zip(plain, out):
        pred = ref.pred_instances
        n = len(pred)
        assert n > 0
        np.testing.assert_array_equal(f['bboxes'], pred.bboxes.numpy())
        np.testing.assert_array_equal(f['scores'], pred.scores.numpy())
        np.testing.assert_array_equal(f['labels'], pred.labels.numpy())
        probs = f['cls_probs']
        assert probs.shape == (n, n_cls + 1)
        np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
        assert f['feats'].shape[0] == n and np.abs(f['feats']).sum(1).min() > 0
        assert f['img_feat'].ndim == 1
        if 'retinanet' not in config:
            # softmax heads: the traced source's probability of the
            # detection's class is exactly the detection's score (the
            # sigmoid head is checked in its own test below)
            np.testing.assert_allclose(
                probs[np.arange(n), f['labels']], f['scores'], rtol=1e-6)
    if 'faster' in config:
        # the feature is the input of fc_cls of the same RoI: classifying
        # it again gives back the same distribution
        head = model.roi_head.bbox_head
        for _, f in out:
            logits = head.fc_cls(torch.from_numpy(f['feats']))
            np.testing.assert_allclose(
                logits.softmax(-1).detach().numpy(),
                f['cls_probs'],
                rtol=1e-4,
                atol=1e-6)


def test_retinanet_probs_are_the_traced_anchor_sigmoids(toy_detector):
    model, batch = toy_detector('retinanet_r18_fpn_toy.py')
    with build_probe(model, ('scores', 'labels', 'cls_probs')) as probe:
        out = probe.run(batch)
    for _, f in out:
        n = len(f['scores'])
        probs = f['cls_probs']
        # undo the normalisation: fg / sum, bg = 1 - max(fg)
        fg = probs[:, :-1]
        # sigmoid p satisfies p_c / (1 - max p) = fg_c / bg
        rel = fg / probs[:, -1:]
        p_max = rel.max(1) / (1 + rel.max(1))
        p_label = rel[np.arange(n), f['labels']] * (1 - p_max)
        np.testing.assert_allclose(p_label, f['scores'], rtol=1e-4)


def test_ssd_levels_of_different_widths_are_kept_apart(toy_detector):
    model, batch = toy_detector('ssd_r18_toy.py')
    widths = [
        conv.in_channels if hasattr(conv, 'in_channels') else None
        for conv in model.bbox_head.cls_convs
    ]
    with build_probe(model, ('feats', )) as probe:
        out = probe.run(batch)
    feats = out[0][1]['feats']
    if len(set(widths)) > 1:
        assert feats.shape[1] == sum(widths)
        # each detection's feature lives in exactly one level's block
        starts = np.cumsum([0] + widths)
        blocks = [(np.abs(feats[:, s:e]).sum(1) > 0)
                  for s, e in zip(starts[:-1], starts[1:])]
        assert (np.sum(blocks, axis=0) == 1).all()


def test_unavailable_fields_name_field_and_detector(toy_detector, fovea):
    model, _ = toy_detector('faster-rcnn_r18_fpn_toy.py')
    with pytest.raises(StrategyError, match=r"FasterRCNN.*\['loss'\]"):
        build_probe(model, ('scores', 'loss'))
    with pytest.raises(StrategyError, match=r'FOVEA.*FoveaHead.*feats'):
        build_probe(fovea, ('feats', ))
    # image features only need a backbone
    assert type(build_probe(fovea, ('img_feat', ))) is PredictionProbe
    # score-rewriting NMS cannot be traced: refused before any work
    model.test_cfg.rcnn.nms = dict(type='soft_nms', iou_threshold=0.5)
    with pytest.raises(StrategyError, match='soft-NMS'):
        build_probe(model, ('feats', ))
