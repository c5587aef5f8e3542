import hashlib
import json
import os
import os.path as osp
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO

from mmal.testing import (MAX_CLASSES, ToySpec, generate_toy_dataset,
                          make_toy_benchmark, toy_class_names)


def _digest(root):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name.startswith('.'):
                continue
            h.update(name.encode())
            with open(osp.join(dirpath, name), 'rb') as f:
                h.update(f.read())
    return h.hexdigest()


def _load(ann_file):
    with open(ann_file) as f:
        return json.load(f)


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    knobs = dict(
        num_images=12,
        clutter=0.5,
        small_fraction=0.3,
        group_prob=0.3,
        max_occlusion=0.3,
        imbalance=4)
    generate_toy_dataset(str(tmp_path / 'a'), 'train', seed=3, **knobs)
    generate_toy_dataset(str(tmp_path / 'b'), 'train', seed=3, **knobs)
    generate_toy_dataset(str(tmp_path / 'c'), 'train', seed=4, **knobs)
    assert _digest(tmp_path / 'a') == _digest(tmp_path / 'b')
    assert _digest(tmp_path / 'a') != _digest(tmp_path / 'c')


def test_train_and_val_differ_and_reuse_is_free(tmp_path):
    paths = make_toy_benchmark(str(tmp_path), num_train=6, num_val=6)
    train, val = _load(paths['train']), _load(paths['val'])
    assert [a['bbox'] for a in train['annotations']] != \
        [a['bbox'] for a in val['annotations']]
    mtime = os.stat(paths['train']).st_mtime_ns
    make_toy_benchmark(str(tmp_path), num_train=6, num_val=6)
    assert os.stat(paths['train']).st_mtime_ns == mtime
    make_toy_benchmark(str(tmp_path), num_train=7, num_val=6)
    assert len(_load(paths['train'])['images']) == 7


def test_pycocotools_loads_it_and_every_box_is_inside_its_image(tmp_path):
    ann_file = generate_toy_dataset(
        str(tmp_path),
        'train',
        num_images=30,
        clutter=1.0,
        small_fraction=0.5,
        group_prob=0.5,
        max_occlusion=0.5,
        objects_per_image=(0, 6))
    coco = COCO(ann_file)
    assert len(coco.getImgIds()) == 30
    assert coco.getCatIds() == list(range(1, 7))
    for ann in coco.loadAnns(coco.getAnnIds()):
        img = coco.loadImgs(ann['image_id'])[0]
        x, y, w, h = ann['bbox']
        assert w >= 1 and h >= 1
        assert 0 <= x and 0 <= y
        assert x + w <= img['width'] and y + h <= img['height']
    for img in coco.loadImgs(coco.getImgIds()):
        assert osp.isfile(osp.join(tmp_path, 'train', img['file_name']))
        present = {
            a['category_id']
            for a in coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
        }
        assert img['image_labels'] == sorted(present)


def test_requested_imbalance_holds(tmp_path):
    ann_file = generate_toy_dataset(
        str(tmp_path),
        'train',
        num_images=600,
        num_classes=4,
        imbalance=8,
        objects_per_image=(2, 4),
        object_size=(10, 16),
        image_size=96)
    counts = Counter(a['category_id'] for a in _load(ann_file)['annotations'])
    ordered = [counts[c] for c in (1, 2, 3, 4)]
    assert ordered == sorted(ordered, reverse=True)
    ratio = ordered[0] / ordered[-1]
    assert 5.5 < ratio < 11.5, ordered  # requested 8, ~1500 objects


def test_balanced_by_default(tmp_path):
    ann_file = generate_toy_dataset(
        str(tmp_path),
        'train',
        num_images=300,
        num_classes=3,
        objects_per_image=(2, 3),
        object_size=(10, 16))
    counts = Counter(a['category_id'] for a in _load(ann_file)['annotations'])
    assert max(counts.values()) / min(counts.values()) < 1.3


def test_groups_are_touching_same_class_objects(tmp_path):
    # Class 1 is red squares: members of a group share an edge.
    ann_file = generate_toy_dataset(
        str(tmp_path),
        'train',
        num_images=20,
        num_classes=1,
        group_prob=1.0,
        group_size=(3, 3),
        objects_per_image=(1, 1),
        object_size=(10, 14),
        image_size=96)
    by_image = {}
    for ann in _load(ann_file)['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
    assert len(by_image) == 20
    for anns in by_image.values():
        assert len(anns) == 3 and all(a['group'] == 3 for a in anns)
        boxes = sorted(a['bbox'] for a in anns)
        horizontal = boxes[0][1] == boxes[1][1]
        for a, b in zip(boxes, boxes[1:]):
            if horizontal:
                assert a[0] + a[2] == b[0]
            else:
                assert a[1] + a[3] == b[1]


def test_small_objects_and_no_overlap_without_occlusion(tmp_path):
    ann_file = generate_toy_dataset(
        str(tmp_path),
        'train',
        num_images=20,
        num_classes=1,
        small_fraction=1.0,
        small_size=(6, 9),
        objects_per_image=(3, 6))
    anns = _load(ann_file)['annotations']
    assert anns and all(a['small'] for a in anns)
    assert all(max(a['bbox'][2:]) <= 12 for a in anns)  # 9 x up to 1.25
    by_image = {}
    for a in anns:
        by_image.setdefault(a['image_id'], []).append(a['bbox'])
    for boxes in by_image.values():
        for i, (x1, y1, w1, h1) in enumerate(boxes):
            for x2, y2, w2, h2 in boxes[i + 1:]:
                assert (x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2
                        or y2 + h2 <= y1), 'squares must not overlap'


@pytest.mark.parametrize('knob, value', [
    ('num_images', 0),
    ('num_classes', MAX_CLASSES + 1),
    ('imbalance', 0.5),
    ('objects_per_image', (3, 1)),
    ('object_size', (8, 500)),
    ('small_fraction', 1.5),
    ('clutter', -0.1),
    ('max_occlusion', 0.95),
    ('group_prob', 2.0),
    ('group_size', (1, 3)),
])
def test_out_of_range_knob_is_named(tmp_path, knob, value):
    with pytest.raises(ValueError, match=knob):
        generate_toy_dataset(str(tmp_path), 'train', **{knob: value})
    assert not osp.exists(tmp_path / 'annotations' / 'instances_train.json')


def test_class_names_are_unique_and_bounded():
    names = toy_class_names(MAX_CLASSES)
    assert len(set(names)) == MAX_CLASSES
    assert toy_class_names(3) == [
        'red_square', 'green_circle', 'blue_triangle'
    ]
    with pytest.raises(ValueError, match='num_classes'):
        toy_class_names(0)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    num_classes=st.integers(1, 10),
    size=st.integers(48, 128),
    objects=st.tuples(st.integers(0, 3), st.integers(0, 4)).map(sorted),
    small=st.floats(0, 1),
    occlusion=st.floats(0, 0.9),
    group=st.floats(0, 1),
    seed=st.integers(0, 2**31))
def test_any_valid_spec_gives_a_consistent_dataset(tmp_path, num_classes, size,
                                                   objects, small, occlusion,
                                                   group, seed):
    spec = ToySpec(
        num_images=3,
        num_classes=num_classes,
        image_size=size,
        objects_per_image=tuple(objects),
        object_size=(8, 24),
        small_fraction=small,
        max_occlusion=occlusion,
        group_prob=group,
        seed=seed)
    data = _load(generate_toy_dataset(str(tmp_path / str(seed)), 'val', spec))
    ids = {img['id'] for img in data['images']}
    for ann in data['annotations']:
        x, y, w, h = ann['bbox']
        assert ann['image_id'] in ids
        assert 1 <= ann['category_id'] <= num_classes
        assert x >= 0 and y >= 0 and x + w <= size and y + h <= size
    assert len({a['id']
                for a in data['annotations']}) == len(data['annotations'])
    assert np.all([len(data['images']) == 3])
