"""Query-based detectors (DETR and its successors, Sparse R-CNN), built
from mmdet's own configs and shrunk: every probe field comes from the
prediction's forward pass, each detection is traced to the query that made
it, and one acquisition runs with entropy, ENMS + DivProto and core-set."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmal.apis import select_images
from mmal.models.probes import QueryHeadProbe, SparseRoIProbe, build_probe
from mmal.models.probes.class_distribution import sigmoid_distribution
from mmal.registry import MODELS
from mmal.strategies import StrategyError

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
ALL = ('bboxes', 'scores', 'labels', 'cls_probs', 'feats', 'img_feat')
NUM_CLASSES = 6  # the toy shapes
# embedding width: mmdet's sine embeddings of reference points (Conditional
# DETR, DINO, two-stage Deformable DETR) are 2 x 128 wide whatever the config
DIM = 256
QUERIES = 12
MAX_DETS = 12
#: family -> (mmdet config, the adapter build_probe picks)
FAMILIES = {
    'detr': ('detr/detr_r50_8xb2-150e_coco.py', QueryHeadProbe),
    'conditional-detr':
    ('conditional_detr/conditional-detr_r50_8xb2-50e_coco.py', QueryHeadProbe),
    'dab-detr': ('dab_detr/dab-detr_r50_8xb2-50e_coco.py', QueryHeadProbe),
    'deformable-detr':
    ('deformable_detr/deformable-detr_r50_16xb2-50e_coco.py', QueryHeadProbe),
    'deformable-detr-refine-twostage':
    ('deformable_detr/deformable-detr-refine-twostage_r50_16xb2-50e_coco.py',
     QueryHeadProbe),
    'dino': ('dino/dino-4scale_r50_8xb2-12e_coco.py', QueryHeadProbe),
    'ddq-detr': ('ddq/ddq-detr-4scale_r50_8xb2-12e_coco.py', QueryHeadProbe),
    'sparse-rcnn':
    ('sparse_rcnn/sparse-rcnn_r50_fpn_1x_coco.py', SparseRoIProbe),
}


def shrink(node):
    """Make a model config cheap in place: 64-wide FFNs, 8-wide dynamic
    convs (embeddings and attention heads as mmdet's configs have them)."""
    if isinstance(node, list):
        for v in node:
            shrink(v)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == 'feedforward_channels':
            node[key] = 64
        elif key == 'feat_channels' and value == 64:
            node[key] = 8
        else:
            shrink(value)


def build_model(family, seed=0):
    """The shrunk detector of ``family`` in eval mode: ResNet-18 with 8
    base channels, ``init_cfg=None``, one encoder and two decoder layers
    (Sparse R-CNN: two stages), QUERIES queries, MAX_DETS detections."""
    name = FAMILIES[family][0]
    # mmdet:: names resolve through _base_ (mmengine's package scopes)
    cfg = Config.fromstring(f"_base_ = 'mmdet::{name}'", '.py').model
    backbone = cfg.backbone
    widths = [8 * 2**i for i in backbone.out_indices]
    backbone.update(depth=18, base_channels=8, init_cfg=None)
    cfg.neck.in_channels = widths
    shrink(cfg)
    for part, layers in (('encoder', 1), ('decoder', 2)):
        if part in cfg:
            cfg[part].num_layers = layers
    if 'roi_head' in cfg:  # Sparse R-CNN: two stages, few proposals
        roi = cfg.roi_head
        roi.num_stages = 2
        roi.stage_loss_weights = roi.stage_loss_weights[:2]
        roi.bbox_head = roi.bbox_head[:2]
        for head in roi.bbox_head:
            head.num_classes = NUM_CLASSES
        cfg.rpn_head.num_proposals = QUERIES
        cfg.test_cfg.rcnn.max_per_img = MAX_DETS
    else:
        cfg.num_queries = QUERIES
        cfg.bbox_head.num_classes = NUM_CLASSES
        cfg.test_cfg.max_per_img = MAX_DETS
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


@pytest.fixture(scope='module')
def toy_batch(toy_root):
    """One test batch of three toy images (128 px)."""
    cfg = Config.fromfile(f'{REPO}/configs/_base_/datasets/toy_shapes.py')
    loader = cfg.test_dataloader
    loader.dataset.data_root = toy_root
    loader.batch_size = 3
    return next(iter(Runner.build_dataloader(loader)))


def _spy(model, adapter):
    """Hooks of the test's own on the module that makes the detections:
    its input and output in the pass (to check the probe's tracing
    independently)."""
    seen = {}
    if adapter is SparseRoIProbe:
        head = model.roi_head.bbox_head[-1]
        model.roi_head.bbox_roi_extractor[-1].register_forward_pre_hook(
            lambda m, a: seen.update(rois=a[1]))
    else:
        head = model.bbox_head
    head.register_forward_pre_hook(lambda m, a: seen.update(inp=a))
    head.register_forward_hook(lambda m, a, o: seen.update(out=o))
    return head, seen


def _query_box(model, adapter, seen, b, q, label, sample):
    """The box mmdet's prediction gives query ``q`` of image ``b``, in
    original-image pixels."""
    scale = torch.tensor(sample.metainfo['scale_factor']).repeat(2)
    if adapter is SparseRoIProbe:
        rois = seen['rois'][seen['rois'][:, 0] == b, 1:]
        head = model.roi_head.bbox_head[-1]
        box = head.regress_by_class(rois[q:q + 1], torch.tensor([label]),
                                    seen['out'][1][b, q:q + 1],
                                    sample.metainfo)[0]
        return box / scale
    from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
    h, w = sample.metainfo['img_shape'][:2]
    box = bbox_cxcywh_to_xyxy(seen['out'][1][-1][b, q]) * torch.tensor(
        [w, h, w, h])
    box[0::2] = box[0::2].clamp(0, w)
    box[1::2] = box[1::2].clamp(0, h)
    return box / scale


@pytest.mark.parametrize('family', list(FAMILIES))
def test_query_detector_fields_and_acquisition(family, toy_batch):
    adapter = FAMILIES[family][1]
    model = build_model(family)
    with torch.no_grad():
        plain = model.test_step(toy_batch)
    head, seen = _spy(model, adapter)
    calls = []
    model.backbone.register_forward_hook(lambda *a: calls.append(1))
    with build_probe(model, ALL) as probe:
        assert type(probe) is adapter
        out = probe.run(toy_batch)
    assert len(calls) == 1  # one forward of the batch, no second pass
    softmax = not head.loss_cls.use_sigmoid
    for b, (ref, (sample, f)) in enumerate(zip(plain, out)):
        pred = ref.pred_instances
        n = len(pred)
        assert n == MAX_DETS
        np.testing.assert_array_equal(f['bboxes'], pred.bboxes.numpy())
        np.testing.assert_array_equal(f['scores'], pred.scores.numpy())
        np.testing.assert_array_equal(f['labels'], pred.labels.numpy())
        probs = f['cls_probs']
        assert probs.shape == (n, NUM_CLASSES + 1)
        np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
        assert f['feats'].shape == (n, DIM)
        assert f['img_feat'].shape == (64, )  # ResNet-18 / 8, last stage
        # the traced query: the one whose last-layer embedding the feature
        # is; its box, score and distribution are the detection's
        if adapter is SparseRoIProbe:
            logits, embed = seen['out'][0][b], seen['out'][2][b]
        else:
            logits, embed = seen['out'][0][-1][b], seen['inp'][0][-1][b]
        for d in range(n):
            hit = np.flatnonzero((embed.numpy() == f['feats'][d]).all(axis=1))
            assert hit.size == 1
            q, c = int(hit[0]), int(f['labels'][d])
            box = _query_box(model, adapter, seen, b, q, c, sample)
            np.testing.assert_allclose(
                box.numpy(), f['bboxes'][d], rtol=1e-5, atol=1e-4)
            if softmax:
                want = logits[q].softmax(-1)
            else:
                want = sigmoid_distribution(logits[q].sigmoid()[None])[0]
                np.testing.assert_allclose(
                    float(logits[q, c].sigmoid()), f['scores'][d], rtol=1e-6)
            np.testing.assert_allclose(
                want.numpy(), probs[d], rtol=1e-5, atol=1e-7)
        if softmax:
            np.testing.assert_allclose(
                probs[np.arange(n), f['labels']], f['scores'], rtol=1e-6)
    # one acquisition of each kind over the three images
    pool = {i: f for i, (_, f) in enumerate(out)}
    for strategy in ('entropy', 'enms-divproto', 'core-set', 'entropy-max'):
        sel = select_images(
            dict(type=strategy), pool, 1, num_classes=NUM_CLASSES)
        assert len(sel.ids) == 1 and int(sel.ids[0]) in pool


def test_query_detector_refuses_unknown_fields_before_running():
    model = build_model('dino')
    calls = []
    model.backbone.register_forward_hook(lambda *a: calls.append(1))
    with pytest.raises(StrategyError, match=r"DINO.*DINOHead.*\['loss'\]"):
        build_probe(model, ('feats', 'loss'))
    assert not calls
