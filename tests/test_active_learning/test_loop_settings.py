"""Loop settings that need no training: the per-cycle training config
(schedule rules, train modes, resume) and pool sub-sampling."""
import numpy as np
from mmengine.config import Config

from mmal.active_learning import ActiveLearningLoop
from .al_helpers import write_config
from .conftest import read_json


def _loop(tmp_path, al_data, **al):
    cfg = Config.fromfile(write_config(tmp_path / 'cfg.py', al_data, al=al))
    cfg.work_dir = str(tmp_path / 'work')
    loop = ActiveLearningLoop(cfg)
    loop._initial_split()
    return loop


def test_iters_per_image_schedule(tmp_path, al_data):
    loop = _loop(
        tmp_path,
        al_data,
        schedule=dict(
            type='iters_per_image',
            iters_per_image=3,
            milestones=[0.5],
            warmup_iters=5))
    cfg = loop.cycle_cfg(0, None)
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=30)
    assert cfg.param_scheduler[-1]['milestones'] == [15]
    assert cfg.param_scheduler[0]['end'] == 5
    hook = cfg.default_hooks.checkpoint
    assert not hook.by_epoch and hook.interval == 6
    assert cfg.train_dataloader.dataset.ann_file.endswith(
        'cycle_0/labeled.json')
    assert cfg.val_dataloader is None and not cfg.resume


def test_train_modes_choose_the_starting_weights(tmp_path, al_data):
    loop = _loop(tmp_path, al_data, train_mode='continue')
    assert loop.cycle_cfg(0, None).load_from is None
    assert loop.cycle_cfg(1, '/x/prev.pth').load_from == '/x/prev.pth'
    assert {
        'type': 'mmal.RNGStateHook'
    } in loop.cycle_cfg(0, None).custom_hooks


def test_pool_subsample_scores_only_part_of_the_pool(tmp_path, al_data):
    loop = _loop(
        tmp_path, al_data, strategy=dict(type='u-random'), pool_subsample=15)
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'not read by u-random')
    split = loop.acquire(0, str(ckpt))
    sel = read_json(loop.work_dir, 'cycle_1', 'selected.json')
    assert sel['num_scored'] == 15 and len(sel['image_ids']) == 10
    assert split.labeled_ids.size == 20
    # the same seed draws the same sub-sample and selection
    (tmp_path / 'b').mkdir()
    other = _loop(
        tmp_path / 'b',
        al_data,
        strategy=dict(type='u-random'),
        pool_subsample=15)
    other.acquire(0, str(ckpt))
    again = read_json(other.work_dir, 'cycle_1', 'selected.json')
    assert again['image_ids'] == sel['image_ids']
    lm = read_json(loop.work_dir, 'label_map.json')['labeled_in_cycle']
    assert sorted(int(i) for i, c in lm.items()
                  if c == 1) == sorted(sel['image_ids'])
    unlabeled = [
        i['id'] for i in read_json(loop.work_dir, 'cycle_0', 'unlabeled.json')
        ['images']
    ]
    assert np.isin(sel['image_ids'], unlabeled).all()
