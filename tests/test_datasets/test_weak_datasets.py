"""Weak datasets, the mixed sampler and the effective batch."""
import importlib.util
import json
import os
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmal.datasets import (MixedSupervisionSampler, WeakCocoDataset,
                           WeakVOCDataset, save_proposals)
from mmal.testing import toy_class_names
from mmal.utils.config import apply_effective_batch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERT = osp.join(REPO, 'tools', 'dataset_converters', 'convert_proposals.py')


def _convert_proposal_pickle(*args, **kwargs):
    spec = importlib.util.spec_from_file_location('convert_proposals', CONVERT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.convert_proposal_pickle(*args, **kwargs)


def _coco(toy_root):
    return osp.join(toy_root, 'annotations', 'instances_train.json')


def _all_proposals(toy_root, path):
    with open(_coco(toy_root)) as f:
        images = json.load(f)['images']
    ids = [img['id'] for img in images]
    boxes = [np.array([[0, 0, 20, 20], [5, 5, 60, 60]], np.float32)] * len(ids)
    save_proposals(str(path), ids, boxes)
    return ids


def _weak_coco(toy_root, proposal_file=None, **kwargs):
    return WeakCocoDataset(
        data_root=toy_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        proposal_file=proposal_file,
        filter_cfg=dict(filter_empty_gt=False),
        metainfo=dict(classes=toy_class_names(6)),
        pipeline=[],
        **kwargs)


def test_coco_image_labels_from_annotations(toy_root):
    ds = _weak_coco(toy_root)
    with open(_coco(toy_root)) as f:
        coco = json.load(f)
    per_image = {}
    for ann in coco['annotations']:
        per_image.setdefault(ann['image_id'],
                             set()).add(ann['category_id'] - 1)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['image_labels'] == sorted(
            per_image.get(info['img_id'], ()))
        assert info['fully_annotated'] is False


def test_strong_flags_by_fraction_and_by_file(toy_root, tmp_path):
    ds = _weak_coco(toy_root, strong_fraction=0.25, strong_seed=3)
    flags = [ds.get_data_info(i)['fully_annotated'] for i in range(len(ds))]
    assert sum(flags) == 4  # 25% of 16
    again = _weak_coco(toy_root, strong_fraction=0.25, strong_seed=3)
    assert flags == [
        again.get_data_info(i)['fully_annotated'] for i in range(len(ds))
    ]
    split = tmp_path / 'labeled.json'
    split.write_text(json.dumps(dict(images=[dict(id=2), dict(id=5)])))
    ds = _weak_coco(toy_root, strong_ann_file=str(split))
    strong = [
        ds.get_data_info(i)['img_id'] for i in range(len(ds))
        if ds.get_data_info(i)['fully_annotated']
    ]
    assert strong == [2, 5]
    split.write_text(json.dumps(dict(images=[dict(id=999)])))
    with pytest.raises(ValueError, match='999'):
        _weak_coco(toy_root, strong_ann_file=str(split))


def test_fully_annotated_images_need_their_boxes(toy_root, tmp_path):
    with open(_coco(toy_root)) as f:
        coco = json.load(f)
    # A weak-only copy: image-level labels on the image records, no boxes.
    coco['annotations'] = []
    weak = tmp_path / 'weak.json'
    weak.write_text(json.dumps(coco))
    split = tmp_path / 'labeled.json'
    split.write_text(json.dumps(dict(images=[dict(id=3)])))
    kwargs = dict(
        data_root=toy_root,
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=False),
        metainfo=dict(classes=toy_class_names(6)),
        pipeline=[])
    ds = WeakCocoDataset(ann_file=str(weak), **kwargs)
    assert ds.get_data_info(2)['image_labels'] == [
        c - 1 for c in coco['images'][2]['image_labels']
    ]
    with pytest.raises(ValueError, match=r'no boxes.*image ids \[3\]'):
        WeakCocoDataset(
            ann_file=str(weak), strong_ann_file=str(split), **kwargs)


def test_proposals_attach_by_id_and_missing_ones_are_named(toy_root, tmp_path):
    path = tmp_path / 'props.npz'
    ids = _all_proposals(toy_root, path)
    ds = _weak_coco(toy_root, proposal_file=str(path))
    assert ds.get_data_info(0)['proposals']['bboxes'].shape == (2, 4)
    save_proposals(
        str(path), ids[1:], [np.zeros(
            (1, 4), np.float32) + 1] * (len(ids) - 1))
    with pytest.raises(ValueError, match=rf'image ids \[{ids[0]}\]'):
        _weak_coco(toy_root, proposal_file=str(path))
    with pytest.raises(ValueError, match='convert_proposals'):
        _weak_coco(toy_root, proposal_file=str(tmp_path / 'props.pkl'))


VOC_XML = """<annotation><size><width>64</width><height>48</height>
<depth>3</depth></size>{}</annotation>"""
VOC_OBJ = """<object><name>{}</name><difficult>{}</difficult><bndbox>
<xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></bndbox>
</object>"""


def test_voc_image_labels_skip_difficult_keep_small(tmp_path):
    root = tmp_path / 'VOCdevkit'
    voc = root / 'VOC2007'
    for sub in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
        os.makedirs(voc / sub)
    objects = {
        '000001': [('dog', 0, 5, 5, 40, 40), ('cat', 1, 1, 1, 30, 30)],
        # a 3 px bird: ignored as a box under bbox_min_size, still a label
        '000002': [('bird', 0, 10, 10, 12, 12)],
    }
    for stem, objs in objects.items():
        (voc / 'Annotations' / f'{stem}.xml').write_text(
            VOC_XML.format(''.join(VOC_OBJ.format(*o) for o in objs)))
        cv2.imwrite(
            str(voc / 'JPEGImages' / f'{stem}.jpg'),
            np.zeros((48, 64, 3), np.uint8))
    (voc / 'ImageSets/Main/trainval.txt').write_text('000001\n000002\n')
    ds = WeakVOCDataset(
        data_root=str(root),
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        filter_cfg=dict(bbox_min_size=8),
        pipeline=[])
    classes = ds.metainfo['classes']
    labels = {
        ds.get_data_info(i)['img_id']: ds.get_data_info(i)['image_labels']
        for i in range(len(ds))
    }
    assert labels == {
        '000001': [classes.index('dog')],
        '000002': [classes.index('bird')]
    }
    bird = ds.get_data_info(1)['instances'][0]
    assert bird['ignore_flag'] == 1  # mmdet's min-size rule, as documented

    # wetectron's VOC proposal pickle (integer indexes), converted against
    # the image set, attaches to the VOC dataset's images.
    pkl = tmp_path / 'ss.pkl'
    with open(pkl, 'wb') as f:
        pickle.dump(
            dict(
                boxes=[
                    np.array([[0, 0, 30, 30], [0, 0, 99, 99]], np.float32),
                    np.array([[5, 5, 9, 9]], np.float32)
                ],
                scores=[np.ones(2), np.ones(1)],
                indexes=[2, 1]), f)
    out = tmp_path / 'ss.npz'
    report = _convert_proposal_pickle(
        str(pkl), str(voc / 'ImageSets/Main/trainval.txt'), str(out))
    assert report['matched'] == 2
    ds = WeakVOCDataset(
        data_root=str(root),
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        proposal_file=str(out),
        pipeline=[])
    boxes = {
        ds.get_data_info(i)['img_id']:
        ds.get_data_info(i)['proposals']['bboxes'].tolist()
        for i in range(len(ds))
    }
    # Clipped to the 64 x 48 image of 000002.
    assert boxes == {
        '000001': [[5, 5, 9, 9]],
        '000002': [[0, 0, 30, 30], [0, 0, 64, 48]]
    }


class _Flags:

    def __init__(self, flags):
        self.flags = flags

    def __len__(self):
        return len(self.flags)

    def get_data_info(self, i):
        return dict(fully_annotated=self.flags[i])


def test_mixed_sampler_ratio_replacement_and_seed():
    flags = [True] * 5 + [False] * 95
    sampler = MixedSupervisionSampler(_Flags(flags), strong_ratio=0.5, seed=1)
    it = iter(sampler)
    draws = np.array([next(it) for _ in range(4000)])
    strong = np.isin(draws, np.arange(5))
    assert abs(strong.mean() - 0.5) < 0.03
    assert len(set(draws[strong].tolist())) == 5  # with replacement
    again = iter(MixedSupervisionSampler(_Flags(flags), 0.5, seed=1))
    assert [next(again) for _ in range(50)] == draws[:50].tolist()
    uniform = iter(MixedSupervisionSampler(_Flags([False] * 10), 0.5, 0))
    counts = np.bincount([next(uniform) for _ in range(5000)], minlength=10)
    assert counts.min() > 400


def _schedule_cfg(batch_size=1):
    return Config(
        dict(
            effective_batch_size=8,
            train_dataloader=dict(batch_size=batch_size),
            optim_wrapper=dict(type='OptimWrapper', optimizer=dict(lr=0.01)),
            train_cfg=dict(
                type='IterBasedTrainLoop', max_iters=300, val_interval=300),
            param_scheduler=[
                dict(type='LinearLR', by_epoch=False, begin=0, end=50),
                dict(
                    type='MultiStepLR',
                    by_epoch=False,
                    begin=0,
                    end=300,
                    milestones=[200])
            ],
            default_hooks=dict(checkpoint=dict(by_epoch=False, interval=100))))


@pytest.mark.parametrize('world,acc', [(1, 8), (2, 4), (8, 1)])
def test_effective_batch_is_independent_of_the_gpu_count(world, acc):
    cfg = apply_effective_batch(_schedule_cfg(), world_size=world)
    assert cfg.optim_wrapper.accumulative_counts == acc
    assert cfg.train_cfg.max_iters == 300 * acc
    assert cfg.param_scheduler[0].end == 50 * acc
    assert cfg.param_scheduler[1].milestones == [200 * acc]
    assert cfg.default_hooks.checkpoint.interval == 100 * acc
    # Applying twice changes nothing more.
    assert apply_effective_batch(cfg, world).train_cfg.max_iters == 300 * acc


def test_effective_batch_must_divide():
    with pytest.raises(ValueError, match='effective_batch_size=8'):
        apply_effective_batch(_schedule_cfg(batch_size=3), world_size=1)


def test_effective_batch_counts_processes_only_under_a_launcher(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '4')
    monkeypatch.setenv('SLURM_NTASKS', '4')
    cfg = _schedule_cfg()
    cfg.launcher = 'none'  # one process inside a multi-task allocation
    assert apply_effective_batch(cfg).optim_wrapper.accumulative_counts == 8
    cfg = _schedule_cfg()
    cfg.launcher = 'pytorch'
    assert apply_effective_batch(cfg).optim_wrapper.accumulative_counts == 2
