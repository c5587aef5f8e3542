"""Detectors the probe adapter tests run: the toy configs (randomly
initialised, every score kept) and a small FoveaBox, which no mmal adapter
traces (its head post-processes its own way)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.runner import Runner

from mmal.registry import MODELS

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

FOVEA_CFG = dict(
    type='FOVEA',
    data_preprocessor=dict(type='DetDataPreprocessor'),
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(3, ),
        norm_cfg=dict(type='BN')),
    neck=None,
    bbox_head=dict(
        type='FoveaHead',
        num_classes=3,
        in_channels=512,
        feat_channels=32,
        stacked_convs=1,
        strides=[32],
        base_edge_list=[16],
        scale_ranges=((1, 512), )),
    test_cfg=dict(
        nms_pre=10,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=10))


@pytest.fixture
def toy_detector(toy_root):
    """``toy_detector(config, seed=0, batch_size=3)`` -> ``(model, batch)``:
    the model of ``configs/toy/<config>`` in eval mode with score_thr 0 and
    one test batch of the toy data."""

    def build(config, seed=0, batch_size=3):
        cfg = Config.fromfile(osp.join(REPO, 'configs', 'toy', config))
        cfg.test_dataloader.dataset.data_root = toy_root
        cfg.test_dataloader.batch_size = batch_size
        test_cfg = cfg.model.test_cfg
        test_cfg.get('rcnn', test_cfg).score_thr = 0.0  # untrained: keep all
        torch.manual_seed(seed)
        model = MODELS.build(cfg.model)
        model.init_weights()
        model.eval()
        batch = next(iter(Runner.build_dataloader(cfg.test_dataloader)))
        return model, batch

    return build


@pytest.fixture
def fovea():
    """A small FoveaBox in eval mode (3 classes, one level of stride
    32)."""
    torch.manual_seed(0)
    model = MODELS.build(ConfigDict(FOVEA_CFG))
    model.init_weights()
    return model.eval()
