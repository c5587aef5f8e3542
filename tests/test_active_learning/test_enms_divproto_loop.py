"""A toy loop cycle with ENMS + DivProto on each detector family, and one
with core-set-ent (whose pool pass also summarises the labeled images)."""
import os.path as osp

import pytest

from .al_helpers import al_train, write_config
from .conftest import read_json

DENSE = "model = dict(test_cfg=dict(score_thr=0.0))\n"


@pytest.mark.parametrize('base, strategy, extra', [
    ('toy/faster-rcnn_r18_fpn_toy.py', 'ENMSDivProto', ''),
    ('toy/retinanet_r18_fpn_toy.py', 'ENMSDivProto', DENSE),
    ('toy/ssd_r18_toy.py', 'ENMSDivProto', DENSE),
    ('toy/faster-rcnn_r18_fpn_toy.py', 'core-set-ent', ''),
])
def test_one_acquisition_cycle(base, strategy, extra, al_data, tmp_path):
    config = write_config(
        tmp_path / 'cfg.py',
        al_data,
        base=base,
        epochs=1,
        al=dict(
            strategy=dict(type=strategy),
            num_cycles=1,
            acquire_after_last=True),
        extra=extra)
    work = tmp_path / 'work'
    al_train(config, work)
    sel = read_json(work, 'cycle_1', 'selected.json')
    assert sel['strategy']['type'] == strategy
    assert len(sel['image_ids']) == 10
    assert sel['num_scored'] == 30  # the unlabeled pool of cycle 0
    labeled0 = {
        im['id']
        for im in read_json(work, 'cycle_0', 'labeled.json')['images']
    }
    assert not labeled0 & set(sel['image_ids'])
    shards = read_json(work, 'cycle_0', 'acquisition', 'meta.json')
    if strategy == 'ENMSDivProto':
        assert shards['fields'] == ['labels', 'scores', 'feats']
        details = sel['details']
        assert details['constrained'] + details['filled'] == 10
    else:
        assert shards['fields'] == ['img_feat', 'cls_probs']
    # the acquisition after the last (only) trained cycle: cycle 1's split
    # is written, nothing of it trained
    assert osp.exists(work / 'cycle_1' / 'labeled.json')
    assert not osp.exists(work / 'cycle_1' / 'train')
