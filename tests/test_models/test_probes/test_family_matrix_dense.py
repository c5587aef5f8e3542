"""The dense / one-stage families and Cascade R-CNN, each built from
mmdet's own config (``mmdet::...``) shrunk to a tiny randomly initialised
model: one forward on toy images gives every field a probe adapter
promises, consistent with the prediction, and the fields feed one
acquisition of ``entropy``, ``enms-divproto`` and ``core-set``."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.runner import Runner

from mmal.apis import select_images
from mmal.models.probes import (AnchorHeadProbe, CascadeRoIProbe,
                                DenseHeadProbe, GFLHeadProbe, TOODHeadProbe,
                                YOLOXHeadProbe, build_probe)
from mmal.registry import MODELS
from mmal.strategies import StrategyError, build_strategy

#: Side of the toy images fed to the models (pixels).
SIZE = 64
#: Width of every shrunk neck and head (32: GroupNorm heads use 32 groups).
WIDTH = 32
NUM_CLASSES = 4
STRATEGIES = ('entropy', 'enms-divproto', 'core-set')

#: family -> (mmdet config, adapter build_probe must pick).
FAMILIES = {
    'fcos': ('fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', DenseHeadProbe),
    'atss': ('atss/atss_r50_fpn_1x_coco.py', DenseHeadProbe),
    'gfl': ('gfl/gfl_r50_fpn_1x_coco.py', GFLHeadProbe),
    'tood': ('tood/tood_r50_fpn_1x_coco.py', TOODHeadProbe),
    'vfnet': ('vfnet/vfnet_r50_fpn_1x_coco.py', DenseHeadProbe),
    'yolox': ('yolox/yolox_tiny_8xb8-300e_coco.py', YOLOXHeadProbe),
    'rtmdet': ('rtmdet/rtmdet_tiny_8xb32-300e_coco.py', DenseHeadProbe),
    'cascade-rcnn':
    ('cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py', CascadeRoIProbe),
}
#: Families mmdet builds from the same head classes, and what they get.
COME_ALONG = {
    'nas-fcos': ('nas_fcos/nas-fcos_r50-caffe_fpn_nashead-gn-head_4xb4-1x_'
                 'coco.py', DenseHeadProbe),
    'ddod': ('ddod/ddod_r50_fpn_1x_coco.py', DenseHeadProbe),
    'centernet-update': ('centernet/centernet-update_r18_fpn_8xb8-amp-lsj-'
                         '200e_coco.py', DenseHeadProbe),
    'autoassign':
    ('autoassign/autoassign_r50-caffe_fpn_1x_coco.py', DenseHeadProbe),
    'fsaf': ('fsaf/fsaf_r50_fpn_1x_coco.py', AnchorHeadProbe),
}

#: Changes a family needs on CPU at SIZE px: mmcv's CPU deformable conv
#: refuses DDOD's 1x1 stride-128 map (its first tower conv is a DCN).
CHANGES = {'ddod': {'model.bbox_head.use_dcn': False}}
#: Families kept at torch's default initialisation: RTMDet's own
#: init_weights makes the untrained head constant (every prior the same
#: score and a zero-size box), so nothing is left to trace.
TORCH_INIT = ('rtmdet', )


def _set(cfg, key, value):
    if cfg is not None and key in cfg:
        cfg[key] = value


def shrink(model):
    """Shrink an mmdet model config in place: a 8-base-channel ResNet-18
    or a 1/8-width CSP backbone (``init_cfg=None``), WIDTH-channel neck and
    heads with one stacked conv, NUM_CLASSES classes, every score kept."""
    bb = model.backbone
    if bb.type == 'ResNet':
        bb.update(
            depth=18,
            stem_channels=8,
            base_channels=8,
            frozen_stages=-1,
            norm_eval=False,
            init_cfg=None)
        widths = [8 * 2**i for i in bb.out_indices]
    else:  # CSPNeXt / CSPDarknet
        widths = [
            int(c / bb.widen_factor * 0.125) for c in model.neck.in_channels
        ]
        bb.update(deepen_factor=0.167, widen_factor=0.125, init_cfg=None)
        _set(model.neck, 'num_csp_blocks', 1)
    model.neck.in_channels = widths
    model.neck.out_channels = WIDTH
    _set(model.neck, 'init_cfg', None)
    for head in (model.get('bbox_head'), model.get('rpn_head')):
        if head is None:
            continue
        for key, value in (('in_channels', WIDTH), ('feat_channels', WIDTH),
                           ('stacked_convs', 1), ('num_classes', NUM_CLASSES)):
            _set(head, key, value)
    roi = model.get('roi_head')
    if roi is not None:
        roi.bbox_roi_extractor.out_channels = WIDTH
        for head in roi.bbox_head:
            head.update(
                in_channels=WIDTH,
                fc_out_channels=WIDTH,
                num_classes=NUM_CLASSES)
        roi.pop('mask_head', None)
        roi.pop('mask_roi_extractor', None)
    test_cfg = model.test_cfg
    for cfg in (test_cfg.get('rcnn', test_cfg), test_cfg.get('rpn')):
        if cfg is not None:
            _set(cfg, 'score_thr', 0.0)
            _set(cfg, 'nms_pre', 100)
            _set(cfg, 'max_per_img', 20)
    return model


def build(config, family=None, seed=0):
    """The shrunk model of mmdet's ``config`` in eval mode, initialised by
    its own ``init_weights`` (heads' biases and stds) unless ``family`` is
    in TORCH_INIT."""
    cfg = get_config('mmdet::' + config)
    cfg.merge_from_dict(CHANGES.get(family, {}))
    torch.manual_seed(seed)
    model = MODELS.build(shrink(cfg.model))
    if family not in TORCH_INIT:
        model.init_weights()
    return model.eval()


@pytest.fixture(scope='module')
def batch(toy_root):
    """Three toy images resized to SIZE px, as the test dataloader gives
    them."""
    cfg = Config.fromfile('configs/_base_/datasets/toy_shapes.py')
    loader = cfg.test_dataloader
    loader.dataset.data_root = toy_root
    loader.batch_size = 3
    for step in loader.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (SIZE, SIZE)
    return next(iter(Runner.build_dataloader(loader)))


ALL = ('bboxes', 'scores', 'labels', 'cls_probs', 'feats', 'img_feat')
#: Families whose score is the class probability itself (no rescoring):
#: the sigmoid recovered from cls_probs is the score.
UNRESCORED = ('gfl', 'vfnet', 'rtmdet', 'fsaf')
#: Families that multiply it by a factor in [0, 1] (centerness, IoU,
#: objectness): the recovered sigmoid is at least the score.
RESCORED = ('fcos', 'atss', 'yolox', 'nas-fcos', 'ddod', 'centernet-update',
            'autoassign')


def sigmoid_of_label(probs, labels):
    """Undo the sigmoid distribution (fg / sum, bg = 1 - max fg): the
    sigmoid probability of each row's label."""
    rel = probs[:, :-1] / probs[:, -1:]
    p_max = rel.max(1) / (1 + rel.max(1))
    return rel[np.arange(len(labels)), labels] * (1 - p_max)


def feature_width(model):
    roi = getattr(model, 'roi_head', None)
    if roi is not None:
        return roi.bbox_head[-1].fc_cls.in_features
    return WIDTH


@pytest.mark.parametrize('family', list(FAMILIES) + list(COME_ALONG))
def test_family_fields_feed_one_acquisition(family, batch):
    config, adapter = {**FAMILIES, **COME_ALONG}[family]
    model = build(config, family)
    with torch.no_grad():
        plain = model.test_step(batch)
    calls = []
    model.backbone.register_forward_hook(lambda *a: calls.append(1))
    needed = set()
    for name in STRATEGIES:
        needed |= set(build_strategy(dict(type=name)).requires)
    assert needed <= set(ALL)
    probe = build_probe(model, ALL)
    assert type(probe) is adapter
    probe.record_sources = True
    with probe:
        out = probe.run(batch)
    assert len(calls) == 1  # the prediction's own forward, no second pass
    detections = {}
    for (sample, f), ref, src in zip(out, plain, probe.sources):
        pred = ref.pred_instances
        n = len(pred)
        assert n > 0
        # the predictions as mmdet gives them, unchanged
        np.testing.assert_array_equal(f['bboxes'], pred.bboxes.numpy())
        np.testing.assert_array_equal(f['scores'], pred.scores.numpy())
        np.testing.assert_array_equal(f['labels'], pred.labels.numpy())
        # documented shapes
        probs = f['cls_probs']
        assert probs.shape == (n, NUM_CLASSES + 1)
        assert (probs >= 0).all()
        np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
        assert f['feats'].shape == (n, feature_width(model))
        assert np.abs(f['feats']).sum(1).min() > 0
        assert f['img_feat'].ndim == 1 and f['img_feat'].size > 0
        # the traced source reproduces the detection's box ...
        np.testing.assert_allclose(
            src['boxes'].numpy(), f['bboxes'], rtol=1e-5, atol=1e-3)
        # ... and its score, as the head post-processes it
        if 'scores' in src:  # dense heads: the final (M, C) scores
            np.testing.assert_allclose(
                src['scores'].numpy()[np.arange(n), f['labels']],
                f['scores'],
                rtol=1e-6)
        if family == 'cascade-rcnn':  # softmax: the probability is the score
            np.testing.assert_allclose(
                probs[np.arange(n), f['labels']], f['scores'], rtol=1e-6)
        elif family in UNRESCORED:
            np.testing.assert_allclose(
                sigmoid_of_label(probs, f['labels']), f['scores'], rtol=1e-4)
        elif family in RESCORED:
            assert (sigmoid_of_label(probs, f['labels'])
                    >= f['scores'] * (1 - 1e-4)).all()
        detections[int(sample.metainfo['img_id'])] = f
    # one acquisition per strategy: two pool images, one labeled
    ids = sorted(detections)
    pool = {i: detections[i] for i in ids[:-1]}
    labeled = {ids[-1]: detections[ids[-1]]}
    for name in STRATEGIES:
        sel = select_images(
            dict(type=name),
            pool,
            1,
            labeled={ids[-1]: labeled[ids[-1]]['labels']},
            labeled_detections=labeled,
            num_classes=NUM_CLASSES)
        assert len(sel.ids) == 1 and int(sel.ids[0]) in pool


@pytest.mark.parametrize('config,field', [
    ('paa/paa_r50_fpn_1x_coco.py', 'cls_probs'),
    ('foveabox/fovea_r50_fpn_4xb4-1x_coco.py', 'feats'),
])
def test_untraceable_heads_are_refused_before_any_work(config, field):
    model = build(config)
    calls = []
    model.register_forward_hook(lambda *a: calls.append(1))
    with pytest.raises(StrategyError) as err:
        build_probe(model, ('scores', field))
    first = str(err.value).splitlines()[0]
    head = type(model.bbox_head).__name__
    # names the detector, its head and the field; says what is needed
    assert f'{type(model).__name__} (bbox_head {head})' in first
    assert f"['{field}']" in first
    assert 'overrides' in str(err.value)  # why the dense adapters refuse
    assert not calls


def test_soft_nms_is_refused_before_any_work():
    model = build(FAMILIES['fcos'][0])
    model.bbox_head.test_cfg.nms = dict(type='soft_nms', iou_threshold=0.5)
    model.test_cfg = model.bbox_head.test_cfg
    with pytest.raises(StrategyError, match='FCOS.*soft-NMS'):
        build_probe(model, ('cls_probs', ))
