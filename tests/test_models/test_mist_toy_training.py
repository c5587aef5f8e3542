"""The toy MIST config end to end: toy proposals, weak + mixed training
through mmengine's Runner, evaluation, safe checkpoint, TTA config and the
acquisition pool dataset."""
import copy
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmal.active_learning.acquisition import AcquisitionRunner
from mmal.datasets import load_proposals
from mmal.testing import make_toy_proposals
from mmal.utils.checkpoint import find_unsafe_globals

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs/mist/mist_vgg16-tiny_toy.py')


@pytest.fixture(scope='module')
def toy_cfg(toy_root, tmp_path_factory):
    ann = {
        split: osp.join(toy_root, 'annotations', f'instances_{split}.json')
        for split in ('train', 'val')
    }
    make_toy_proposals(toy_root, ann, max_proposals=100, seed=0)
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path_factory.mktemp('mist_toy'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = toy_root
        cfg[loader].batch_size = 4
    cfg.val_evaluator.ann_file = ann['val']
    cfg.test_evaluator.ann_file = ann['val']
    cfg.train_dataloader.dataset.strong_fraction = 0.25
    cfg.train_cfg.max_iters = 6
    cfg.train_cfg.val_interval = 6
    cfg.param_scheduler = [
        dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=6)
    ]
    cfg.default_hooks.checkpoint.interval = 6
    cfg.default_hooks.logger.interval = 2
    return cfg


def test_toy_proposals_cover_the_toy_objects(toy_cfg, toy_root):
    props = load_proposals(
        osp.join(toy_root, 'proposals', 'proposals_train.npz'))
    assert len(props) == 16
    assert all(len(p['bboxes']) <= 100 for p in props.values())


def test_toy_mist_trains_evaluates_and_checkpoints(toy_cfg):
    runner = Runner.from_cfg(copy.deepcopy(toy_cfg))
    runner.train()
    ckpt = osp.join(toy_cfg.work_dir, 'iter_6.pth')
    assert osp.exists(ckpt)
    assert find_unsafe_globals(ckpt) == []
    metrics = runner.val_loop.run()
    assert 0.0 <= metrics['coco/bbox_mAP_50'] <= 1.0
    # Half of the sampled images are fully annotated (4 of the 16).
    strong = sum(
        runner.train_dataloader.dataset.get_data_info(i)['fully_annotated']
        for i in range(16))
    assert strong == 4


def test_toy_mist_tta_config_runs(toy_cfg):
    cfg = copy.deepcopy(toy_cfg)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.model = dict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.batch_size = 2
    runner = Runner.from_cfg(cfg)
    with torch.no_grad():
        metrics = runner.test()
    assert 'coco/bbox_mAP_50' in metrics


def test_pool_dataset_carries_the_proposals(toy_cfg, toy_root):
    fake = SimpleNamespace(cfg=toy_cfg)
    ann = osp.join(toy_root, 'annotations', 'instances_train.json')
    ds = AcquisitionRunner._build_dataset(fake, ann)
    sample = ds[0]['data_samples']
    assert sample.proposals.bboxes.shape[1] == 4
    assert 'image_labels' in sample.metainfo
