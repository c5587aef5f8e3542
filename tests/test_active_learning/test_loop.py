"""End-to-end runs of tools/al_train.py on the toy data: outputs, resume
after SIGKILL, manual oracle round trip, single-class and small pools."""
import json
import os
import os.path as osp
import shutil
import signal
import time

import numpy as np
import torch

from mmal.active_learning import Pool
from mmal.utils.checkpoint import load_checkpoint_safely
from .al_helpers import al_train, start_al_train, write_config
from .conftest import read_json


def split_ids(work_dir, k, name):
    return sorted(i['id']
                  for i in read_json(work_dir, f'cycle_{k}', name)['images'])


def test_loop_writes_splits_results_and_plot(al_run):
    _, work = al_run
    pool = read_json(work, 'run.json')['config']['al']
    assert pool['num_cycles'] == 2
    lab0, unl0 = split_ids(work, 0,
                           'labeled.json'), split_ids(work, 0,
                                                      'unlabeled.json')
    lab1 = split_ids(work, 1, 'labeled.json')
    assert len(lab0) == 10 and len(unl0) == 30 and not set(lab0) & set(unl0)
    sel = read_json(work, 'cycle_1', 'selected.json')
    assert len(sel['image_ids']) == 10 and len(sel['scores']) == 10
    assert sorted(lab0 + sel['image_ids']) == lab1
    assert sel['strategy']['type'] == 'least-confidence'
    ckpt = read_json(work, 'cycle_0', 'checkpoint.json')
    assert sel['checkpoint'] == ckpt['checkpoint']
    assert len(sel['checkpoint_sha256']) == 64
    # scores are 1 - max detection score, best first
    assert sel['scores'] == sorted(sel['scores'], reverse=True)
    # labeled.json keeps the pool's annotations of exactly those images
    labeled = read_json(work, 'cycle_1', 'labeled.json')
    assert {a['image_id'] for a in labeled['annotations']} <= set(lab1)
    label_map = read_json(work, 'label_map.json')['labeled_in_cycle']
    assert sorted(int(i) for i, c in label_map.items() if c == 0) == lab0
    assert sorted(int(i) for i, c in label_map.items()
                  if c == 1) == sorted(sel['image_ids'])
    assert sum(c is None for c in label_map.values()) == 20
    results = read_json(work, 'results.json')['cycles']
    assert [r['labeled_images'] for r in results] == [10, 20]
    assert all(0 <= r['bbox_AP'] <= 1 for r in results)
    assert results[0]['inference_s'] is not None
    with open(osp.join(work, 'results.csv')) as f:
        assert f.readline().startswith('cycle,labeled_images,labeled_boxes')
        assert len(f.readlines()) == 2
    with open(osp.join(work, 'al_curve.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def _wait_for(path, proc, timeout=300):
    t0 = time.time()
    while not osp.exists(path):
        assert proc.poll() is None, f'driver ended before {path} appeared'
        assert time.time() - t0 < timeout, f'{path} never appeared'
        time.sleep(0.02)


def _kill(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_resume_after_sigkill_gives_the_uninterrupted_splits(al_run, tmp_path):
    config, ref = al_run
    work = tmp_path / 'work'
    # 1) killed in cycle 0's training, during its second epoch
    proc = start_al_train(config, work)
    _wait_for(work / 'cycle_0' / 'train' / 'last_checkpoint', proc)
    _kill(proc)
    assert not (work / 'cycle_0' / 'checkpoint.json').exists()
    # 2) killed between evaluation and acquisition of cycle 0
    proc = start_al_train(config, work)
    _wait_for(work / 'cycle_0' / 'metrics.json', proc)
    _kill(proc)
    # 3) runs to the end
    al_train(config, work)
    assert read_json(work, 'cycle_0', 'checkpoint.json')['resumed']
    for k in (0, 1):
        for name in ('labeled.json', 'unlabeled.json'):
            assert split_ids(work, k, name) == split_ids(ref, k, name)
    a = read_json(work, 'cycle_1', 'selected.json')
    b = read_json(ref, 'cycle_1', 'selected.json')
    assert a['image_ids'] == b['image_ids']
    np.testing.assert_allclose(a['scores'], b['scores'], rtol=0, atol=1e-6)
    # training resumed mid-cycle ends with the same weights
    wa = load_checkpoint_safely(
        read_json(work, 'cycle_0', 'checkpoint.json')['checkpoint'])
    wb = load_checkpoint_safely(
        read_json(ref, 'cycle_0', 'checkpoint.json')['checkpoint'])
    for key, value in wb['state_dict'].items():
        torch.testing.assert_close(
            wa['state_dict'][key], value, rtol=0, atol=1e-6)
    assert len(read_json(work, 'results.json')['cycles']) == 2


def test_finished_run_is_not_retrained_and_config_change_is_refused(
        al_run, tmp_path):
    config, ref = al_run
    work = tmp_path / 'work'
    shutil.copytree(ref, work)
    before = os.stat(
        read_json(work, 'cycle_1', 'checkpoint.json')['checkpoint']).st_mtime
    proc = al_train(config, work)
    assert 'training on' not in proc.stdout
    after = os.stat(
        read_json(work, 'cycle_1', 'checkpoint.json')['checkpoint']).st_mtime
    assert before == after
    proc = al_train(config, work, '--cfg-options', 'al.budget=5', check=False)
    assert proc.returncode == 2
    assert 'al.budget' in proc.stderr and 'config differs' in proc.stderr
    proc = al_train(config, work, '--cfg-options', 'al.budget=5',
                    '--allow-config-change')
    assert proc.returncode == 0
    assert read_json(work, 'run.json')['config']['al']['budget'] == 5


def test_manual_oracle_round_trip(al_data, tmp_path):
    # The initial labeled set is a user's split file; later cycles ask.
    pool = Pool(osp.join(al_data, 'annotations', 'instances_train.json'))
    first = pool.ids[:10]
    initial = tmp_path / 'initial.json'
    initial.write_text(json.dumps(pool.subset(first, pool.anns_by_image)))
    config = write_config(
        tmp_path / 'cfg.py',
        al_data,
        base='random/faster-rcnn_r18_fpn_u-random_toy.py',
        epochs=1,
        al=dict(
            initial=dict(_delete_=True, split_file=str(initial)),
            oracle=dict(type='ManualOracle')))
    work = tmp_path / 'work'
    proc = al_train(config, work, check=False)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert 'annotated.json' in proc.stderr
    request = json.loads((work / 'cycle_1' / 'to_annotate.json').read_text())
    ids = sorted(i['id'] for i in request['images'])
    assert len(ids) == 10 and request['annotations'] == []
    paths = (work / 'cycle_1' / 'to_annotate.txt').read_text().split()
    assert len(paths) == 10 and all(osp.isfile(p) for p in paths)
    assert not (work / 'cycle_1' / 'labeled.json').exists()

    # A box outside its image is refused, naming the file.
    answer = pool.subset(ids, pool.anns_by_image)
    bad = json.loads(json.dumps(answer))
    bad['annotations'][0]['bbox'] = [100, 100, 60, 60]
    (work / 'cycle_1' / 'annotated.json').write_text(json.dumps(bad))
    proc = al_train(config, work, check=False)
    assert proc.returncode == 2
    assert 'annotated.json' in proc.stderr and 'not inside' in proc.stderr

    (work / 'cycle_1' / 'annotated.json').write_text(json.dumps(answer))
    al_train(config, work)
    labeled = read_json(work, 'cycle_1', 'labeled.json')
    assert sorted(i['id']
                  for i in labeled['images']) == sorted(first.tolist() + ids)
    assert len(labeled['annotations']) == sum(
        len(pool.anns_by_image[i]) for i in first.tolist() + ids)


def test_single_class_pool_smaller_than_labeled_set(tmp_path):
    # One class, 30 of 40 images labeled at the start: the last 10 are
    # the whole pool and b-random must take them all.
    config = write_config(
        tmp_path / 'cfg.py',
        tmp_path / 'data',
        base='random/faster-rcnn_r18_fpn_b-random_toy.py',
        epochs=1,
        al=dict(initial=dict(size=30)),
        extra='''
classes = ('red_square', )
metainfo = dict(classes=classes, palette=[(220, 40, 40)])
toy_data = dict(num_train=40, num_val=8, num_classes=1, seed=0)
train_dataloader = dict(
    batch_size=4, dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(
    batch_size=4, dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
model = dict(roi_head=dict(bbox_head=dict(num_classes=1)))
''')
    work = tmp_path / 'work'
    al_train(config, work)
    assert len(split_ids(work, 1, 'labeled.json')) == 40
    assert split_ids(work, 1, 'unlabeled.json') == []
    rows = read_json(work, 'results.json')['cycles']
    assert [r['labeled_images'] for r in rows] == [30, 40]
    # One class: its per-class AP is the headline AP.
    assert rows[0]['AP_red_square'] is not None
    assert rows[0]['AP_red_square'] == rows[0]['bbox_AP']
