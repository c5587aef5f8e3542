"""Every shipped config parses and builds its detector (no weights loaded)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmal.registry import DATASETS, MODELS, PARAM_SCHEDULERS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(p, REPO) for p in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p)


def test_configs_found():
    assert {
        'configs/toy/faster-rcnn_r18_fpn_toy.py',
        'configs/faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
        'configs/retinanet/retinanet_r50_fpn_enms-1x_coco.py',
        'configs/ssd/ssd300_vgg16_ll4al_voc0712.py'
    } <= set(CONFIGS)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds_its_detector(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.default_scope == 'mmal'
    model = MODELS.build(cfg.model)  # init_weights() is never called
    head = getattr(model, 'bbox_head', None) or model.roi_head.bbox_head
    dataset = cfg.train_dataloader.dataset
    classes = dataset.get('metainfo', {}).get('classes')
    if classes is None:  # mmdet's dataset class carries them
        classes = DATASETS.get(dataset.type).METAINFO['classes']
    assert head.num_classes == len(classes)
    if 'ssd' in config:  # mmdet 3.3's own SSDHead cannot predict
        from mmal.models import SSDHeadCompat
        assert isinstance(head, SSDHeadCompat)
    for scheduler in cfg.param_scheduler:
        assert PARAM_SCHEDULERS.get(scheduler['type']) is not None


@pytest.mark.parametrize('config', [
    'configs/faster-rcnn/faster-rcnn_r50_fpn_enms-1x_coco.py',
    'configs/retinanet/retinanet_r50_fpn_enms-1x_coco.py'
])
def test_enms_paper_schedule(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert cfg.train_dataloader.batch_size * 8 == 16
    step = cfg.param_scheduler[-1]
    assert step.type == 'FractionalMultiStepLR'
    assert step.milestones == pytest.approx([8, 12 * 8 / 9])
