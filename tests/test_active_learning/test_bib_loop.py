"""The BiB protocol end to end on the toy data: a weak MIST base model
trained from image-level labels (tools/train.py), then the loop with cycle 0
= that model, two BiB acquisitions, each cycle fine-tuned from the base
model on the whole pool with the selected images fully annotated, evaluated
with test-time augmentation; the MIST baselines score the same pool."""
import glob
import os.path as osp
import subprocess
import textwrap

import numpy as np
import pytest
from mmengine.config import Config

from mmal.active_learning.summary_store import SummaryStore
from .al_helpers import PY, REPO, al_train, env
from .conftest import read_json

BASE = osp.join(REPO, 'configs/mist/mist_vgg16-tiny_toy.py')


def data_overrides(root):
    return textwrap.dedent(f'''
    data_root = {root!r}
    toy_data = dict(num_train=24, num_val=6, seed=0)
    toy_proposals = dict(max_proposals=60, seed=0)
    train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
    effective_batch_size = 4
    val_dataloader = dict(batch_size=3, dataset=dict(data_root=data_root))
    test_dataloader = val_dataloader
    val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
    test_evaluator = val_evaluator
    log_level = 'WARNING'
    ''')


@pytest.fixture(scope='module')
def base_model(tmp_path_factory):
    """A weak toy MIST trained for 6 steps from image-level labels only."""
    tmp = tmp_path_factory.mktemp('bib_base')
    root = str(tmp / 'data') + '/'
    cfg = tmp / 'base.py'
    cfg.write_text(f'_base_ = {BASE!r}\n' + data_overrides(root) +
                   textwrap.dedent('''
    train_cfg = dict(max_iters=6, val_interval=6)
    param_scheduler = []
    default_hooks = dict(checkpoint=dict(interval=6))
    '''))
    work = tmp / 'base_work'
    subprocess.run([
        PY,
        osp.join(REPO, 'tools/train.py'),
        str(cfg), '--work-dir',
        str(work)
    ],
                   env=env(),
                   cwd=REPO,
                   check=True,
                   capture_output=True)
    return root, str(work / 'iter_6.pth')


def bib_config(path, root, ckpt, strategy, num_cycles=3, after_last=False):
    text = (
        f"_base_ = {osp.join(REPO, 'configs/bib', 'mist_vgg16-tiny_' + strategy + '_toy.py')!r}\n"  # noqa: E501
        + data_overrides(root) + textwrap.dedent(f'''
    al = dict(
        num_cycles={num_cycles},
        acquire_after_last={after_last},
        budget=4,
        finetune_from={ckpt!r},
        schedule=dict(iters_per_image=1, warmup_iters=1))
    '''))
    path.write_text(text)
    return str(path)


def test_bib_toy_loop_two_cycles(base_model, tmp_path):
    root, ckpt = base_model
    config = bib_config(tmp_path / 'bib.py', root, ckpt, 'bib')
    work = tmp_path / 'work'
    al_train(config, work)
    # cycle 0 is the base model: no training, evaluated as it is
    c0 = read_json(work, 'cycle_0', 'checkpoint.json')
    assert c0['given'] and c0['checkpoint'] == osp.abspath(ckpt)
    assert not osp.exists(work / 'cycle_0' / 'train')
    labeled = []
    for k in (1, 2):
        sel = read_json(work, f'cycle_{k}', 'selected.json')
        assert sel['strategy']['type'] == 'bib'
        assert len(sel['image_ids']) == 4
        assert len(set(sel['image_ids']) | set(labeled)) == 4 * k
        d = sel['details']
        assert d['by_bib'] + d['filled'] == 4
        labeled += sel['image_ids']
        # fine-tuned from the base model on the whole pool, the selected
        # images fully annotated: 1 iteration per labeled image
        train_cfg, = glob.glob(str(work / f'cycle_{k}' / 'train' / '*.py'))
        cfg = Config.fromfile(train_cfg)
        ds = cfg.train_dataloader.dataset
        assert ds.strong_ann_file == str(work / f'cycle_{k}' / 'labeled.json')
        assert ds.ann_file.endswith('annotations/instances_train.json')
        assert cfg.train_cfg.max_iters == 4 * k
        assert cfg.load_from == osp.abspath(ckpt)
    # the second pool pass also covered the images selected before: the
    # pairs recorded when BiB picked them, re-featurised as centres
    scored = SummaryStore(str(work / 'cycle_1' / 'acquisition')).read()
    sel1 = read_json(work, 'cycle_1', 'selected.json')
    first = sel1['image_ids']
    assert set(first) <= set(scored) and len(scored) == 24
    kept = sel1['details']['pair_boxes']
    assert set(map(int, kept)) <= set(first)
    for i, boxes in kept.items():
        np.testing.assert_allclose(scored[int(i)]['pair_boxes'],
                                   np.reshape(boxes, (-1, 8)))
    sel2 = read_json(work, 'cycle_2', 'selected.json')
    assert sel2['details']['centre_pairs'] == sum(map(len, kept.values()))
    assert sel2['details']['local_trials_k'] == 8
    assert sel2['num_scored'] == 20
    rows = read_json(work, 'results.json')['cycles']
    assert [r['labeled_images'] for r in rows] == [0, 4, 8]
    assert all(0 <= r['bbox_AP50'] <= 1 for r in rows)


@pytest.mark.parametrize('strategy,fields', [
    ('loss', ['loss']),
    ('core-set-ent', ['img_feat', 'cls_probs']),
    ('u-plus-bib', [
        'bboxes', 'scores', 'labels', 'box_feats', 'img_labels', 'query_boxes',
        'query_feats'
    ]),
])
def test_mist_baselines_acquire_from_the_base_model(base_model, tmp_path,
                                                    strategy, fields):
    root, ckpt = base_model
    # cycle 0 is the base model; one acquisition after it, nothing trained
    config = bib_config(
        tmp_path / 'cfg.py',
        root,
        ckpt,
        strategy,
        num_cycles=1,
        after_last=True)
    work = tmp_path / 'work'
    al_train(config, work)
    meta = read_json(work, 'cycle_0', 'acquisition', 'meta.json')
    assert meta['fields'] == fields
    sel = read_json(work, 'cycle_1', 'selected.json')
    assert sel['strategy']['type'] == strategy and len(sel['image_ids']) == 4
    if strategy == 'loss':
        shards = SummaryStore(str(work / 'cycle_0' / 'acquisition')).read()
        losses = {i: float(s['loss']) for i, s in shards.items()}
        assert all(np.isfinite(v) and v >= 0 for v in losses.values())
        top = sorted(losses, key=losses.get, reverse=True)[:4]
        assert sorted(sel['image_ids']) == sorted(top)
    assert osp.exists(work / 'cycle_1' / 'labeled.json')
    assert not osp.exists(work / 'cycle_1' / 'train')


def test_initial_zero_needs_a_base_model(tmp_path, base_model):
    root, _ = base_model
    config = bib_config(tmp_path / 'cfg.py', root, str(tmp_path / 'no.pth'),
                        'bib')
    proc = al_train(config, tmp_path / 'work', check=False)
    assert proc.returncode == 2
    assert 'no.pth' in proc.stderr and 'train it first' in proc.stderr
    assert not osp.exists(tmp_path / 'work' / 'cycle_0')
