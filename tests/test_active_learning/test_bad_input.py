"""Bad input is rejected before any training, with a message naming the
file or config field, and nothing is written to the work dir."""
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmal.active_learning import ActiveLearningLoop, Pool, SplitError
from mmal.active_learning.detector import check_checkpoint_classes
from mmal.strategies import StrategyError
from mmal.testing.refusal_table import record, refused
from .al_helpers import al_train, write_config


@pytest.fixture
def cfg(al_data, tmp_path):
    path = write_config(tmp_path / 'cfg.py', al_data)
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp_path / 'work')
    return cfg


def _rejects(cfg, match, case):
    with refused(SplitError, match, case):
        ActiveLearningLoop(cfg).run()
    assert not osp.exists(cfg.work_dir) or os.listdir(cfg.work_dir) == []


def _pool_file(tmp_path, al_data, edit):
    src = osp.join(al_data, 'annotations', 'instances_train.json')
    with open(src) as f:
        data = json.load(f)
    edit(data)
    path = tmp_path / 'pool.json'
    path.write_text(json.dumps(data))
    return str(path)


def test_budget_larger_than_pool(cfg):
    cfg.al.budget = 31
    _rejects(
        cfg, r'al.budget: 1 acquisitions of 31 images need 31 '
        r'unlabeled images but the pool has 30',
        'al.budget larger than the unlabeled pool')


def test_initial_set_larger_than_dataset(cfg):
    cfg.al.initial = dict(size=41)
    _rejects(cfg, r'al.initial: 41 images requested but the pool has 40',
             'al.initial larger than the pool')


def test_initial_zero_needs_a_given_model(cfg):
    cfg.al.initial = 0
    _rejects(cfg, r"al.initial=0 needs train_mode='finetune_from'",
             'al.initial=0 without a given model')


def test_test_time_augmentation_needs_the_tta_config(cfg):
    cfg.al.test_tta = True
    cfg.pop('tta_model', None)
    _rejects(cfg, r'al.test_tta=True needs tta_model and tta_pipeline',
             'al.test_tta without a TTA config')


def test_empty_pool(cfg, tmp_path, al_data):
    cfg.al.pool = dict(
        ann_file=_pool_file(tmp_path, al_data,
                            lambda d: d.update(images=[], annotations=[])))
    _rejects(cfg, 'the pool is empty', 'a pool without images')


def test_missing_and_malformed_annotation_file(cfg, tmp_path):
    cfg.al.pool = dict(ann_file=str(tmp_path / 'nope.json'))
    _rejects(cfg, r"annotation file '.*nope.json' does not exist",
             'pool annotation file missing')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": [')
    cfg.al.pool = dict(ann_file=str(bad))
    _rejects(cfg, r'bad.json.* is not valid json',
             'pool annotation file not json')
    bad.write_text('{"images": [{"id": 1}], "categories": []}')
    _rejects(cfg, r'bad.json.*images\[0\] has no valid "file_name"',
             'pool image entry without file_name')


def test_file_names_that_do_not_match_the_images(cfg, tmp_path, al_data):

    def rename(d):
        d['images'][3]['file_name'] = 'missing.png'

    cfg.al.pool = dict(ann_file=_pool_file(tmp_path, al_data, rename))
    _rejects(cfg, r"1 of 40 images .* are not under .*\['missing.png'\]",
             'pool image file missing')


def test_annotation_with_unknown_image_id(cfg, tmp_path, al_data):

    def orphan(d):
        d['annotations'][0]['image_id'] = 9999

    cfg.al.pool = dict(ann_file=_pool_file(tmp_path, al_data, orphan))
    _rejects(cfg, r'annotations\[0\] refers to image_id 9999',
             'annotation of an unknown image')


def test_config_classes_not_in_annotation_file(cfg):
    cfg.train_dataloader.dataset.metainfo = dict(classes=('cat', 'dog'))
    _rejects(cfg, r"config classes \['cat', 'dog'\] are not categories",
             'config classes not in the pool')


def test_invalid_initial_split_file(cfg, tmp_path, al_data):
    pool = Pool(osp.join(al_data, 'annotations', 'instances_train.json'))
    split = pool.subset(pool.ids[:5], pool.anns_by_image)
    split['images'][0] = dict(split['images'][0], id=12345)
    path = tmp_path / 'init.json'
    path.write_text(json.dumps(split))
    cfg.al.initial = dict(split_file=str(path))
    _rejects(cfg, r'init.json: image ids \[12345\] are not in the pool',
             'al.initial.split_file with unknown images')


def test_checkpoint_with_other_classes(cfg, tmp_path):
    ckpt = dict(meta=dict(dataset_meta=dict(classes=('a', 'b'))))
    with pytest.raises(
            SplitError,
            match=r"trained on classes \['a', 'b'\] "
            r"but the config has \['a', 'c'\]"):
        check_checkpoint_classes(ckpt, ('a', 'c'), 'x.pth')
    # through the CLI: finetune_from a checkpoint of other classes
    path = tmp_path / 'other.pth'
    torch.save(
        dict(meta=dict(dataset_meta=dict(classes=['x'])), state_dict={}), path)
    cfg.al.train_mode = 'finetune_from'
    cfg.al.finetune_from = str(path)
    _rejects(
        cfg, r"other.pth' was trained on classes \['x'\] but the "
        r"config has \['red_square'",
        'al.finetune_from trained on other classes')


def test_cli_reports_bad_input_with_exit_status_2(al_data, tmp_path):
    config = write_config(tmp_path / 'cfg.py', al_data, al=dict(budget=500))
    proc = al_train(config, tmp_path / 'work', check=False)
    assert proc.returncode == 2
    assert 'error: al.budget' in proc.stderr
    assert 'Traceback' not in proc.stderr
    record('al.budget larger than the pool (command line, exit 2)',
           proc.stderr.strip().splitlines()[-1])
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize('damage,match,case', [
    (lambda p: p.write_text('not an image'), r'000003.png: not an image',
     'pool image that is not an image'),
    (lambda p: p.write_bytes(p.read_bytes()[:-200]),
     r'000003.png: a PNG file that is cut short', 'pool image cut short'),
    (lambda p: cv2.imwrite(str(p), np.zeros((10, 12, 3), np.uint8)),
     r'000003.png: 12x10 pixels but the annotation says',
     'pool image of another size than annotated'),
])
def test_pool_image_that_cannot_be_loaded(cfg, tmp_path, al_data, damage,
                                          match, case):
    # found before cycle 0 trains (it used to end in mmcv's 'failed to load
    # image' once training reached it)
    img_dir = tmp_path / 'images'
    shutil.copytree(osp.join(al_data, 'train'), img_dir)
    damage(img_dir / '000003.png')
    cfg.al.pool = dict(img_dir=str(img_dir))
    _rejects(cfg, r'1 of 40 images .* cannot be trained on, e\.g\. ' + match,
             case)


def test_unregistered_oracle_and_fields_the_detector_cannot_give(cfg):
    cfg.al.oracle = dict(type='Human')
    _rejects(cfg, "al.oracle.type 'Human' is not a registered oracle",
             'al.oracle.type not registered')
    cfg.al.oracle = dict(type='GroundTruthOracle')
    cfg.al.strategy = dict(type='LossRanking')
    with refused(StrategyError, r"cannot provide fields \['loss'\]",
                 'strategy needing fields the detector cannot give'):
        ActiveLearningLoop(cfg).run()
    assert not osp.exists(cfg.work_dir) or os.listdir(cfg.work_dir) == []
