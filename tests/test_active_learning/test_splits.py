"""Split files: write/read round trips and invariants (hypothesis), atomic
writes under a simulated crash, validation failures."""
import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmal.active_learning import (Pool, SplitError, check_growth, read_split,
                                  update_label_map, write_split)
from mmal.testing.refusal_table import refused
from mmal.utils import fileio


def make_pool(tmp_path, n, num_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    images = [
        dict(id=int(i), file_name=f'{i}.png', width=50, height=40)
        for i in rng.choice(10_000, n, replace=False)
    ]
    anns, k = [], 1
    for img in images:
        for _ in range(rng.integers(0, 3)):
            anns.append(
                dict(
                    id=k,
                    image_id=img['id'],
                    category_id=int(rng.integers(1, num_classes + 1)),
                    bbox=[1, 2, 10, 10],
                    area=100,
                    iscrowd=0))
            k += 1
    cats = [dict(id=c, name=f'c{c}') for c in range(1, num_classes + 1)]
    path = tmp_path / f'pool{seed}_{n}.json'
    path.write_text(
        json.dumps(dict(images=images, annotations=anns, categories=cats)))
    return Pool(str(path))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(1, 60),
    frac=st.floats(0, 1),
    seed=st.integers(0, 99),
    budget=st.integers(1, 70))
def test_split_round_trip_and_growth(tmp_path, n, frac, seed, budget):
    pool = make_pool(tmp_path, n, seed=seed)
    rng = np.random.default_rng(seed)
    k = int(round(frac * n))
    lab = rng.choice(pool.ids, k, replace=False)
    cdir = tmp_path / f'c{seed}_{n}_{k}_{budget}'
    split = write_split(
        str(cdir), pool, {int(i): pool.anns_by_image[int(i)]
                          for i in lab})
    back = read_split(str(cdir), pool)
    assert np.array_equal(back.labeled_ids, np.sort(lab))
    assert np.array_equal(back.unlabeled_ids, split.unlabeled_ids)
    assert not np.intersect1d(back.labeled_ids, back.unlabeled_ids).size
    assert np.array_equal(
        np.union1d(back.labeled_ids, back.unlabeled_ids), pool.ids)
    assert back.num_boxes() == sum(
        len(pool.anns_by_image[int(i)]) for i in lab)
    # the next split adds exactly min(budget, unlabeled) images
    sel = rng.permutation(back.unlabeled_ids)[:budget]
    anns = dict(back.annotations)
    anns.update({int(i): pool.anns_by_image[int(i)] for i in sel})
    nxt = write_split(str(cdir) + 'n', pool, anns)
    check_growth(back, read_split(str(cdir) + 'n', pool), sel, budget, 'x')
    if sel.size:
        with pytest.raises(SplitError, match='selected'):
            check_growth(back, nxt, sel[:-1], budget, 'x')
    # unlabeled.json carries no annotations
    with open(cdir / 'unlabeled.json') as f:
        assert json.load(f)['annotations'] == []


def test_read_split_rejects_overlap_and_missing_images(tmp_path):
    pool = make_pool(tmp_path, 10)
    ids = pool.ids.tolist()
    write_split(str(tmp_path / 'c'), pool, {i: [] for i in ids[:4]})
    unl = json.loads((tmp_path / 'c' / 'unlabeled.json').read_text())
    lab = json.loads((tmp_path / 'c' / 'labeled.json').read_text())
    # overlap
    bad = dict(unl, images=unl['images'] + lab['images'][:1])
    (tmp_path / 'c' / 'unlabeled.json').write_text(json.dumps(bad))
    with refused(SplitError, 'both in labeled.json',
                 'split files that overlap'):
        read_split(str(tmp_path / 'c'), pool)
    # an image lost
    bad = dict(unl, images=unl['images'][1:])
    (tmp_path / 'c' / 'unlabeled.json').write_text(json.dumps(bad))
    with refused(SplitError, 'miss pool images',
                 'split files that lose pool images'):
        read_split(str(tmp_path / 'c'), pool)
    # an id outside the pool
    bad = dict(
        unl,
        images=unl['images'] +
        [dict(id=-5, file_name='x.png', width=1, height=1)])
    (tmp_path / 'c' / 'unlabeled.json').write_text(json.dumps(bad))
    with refused(SplitError, r'unlabeled.json: image ids \[-5\]',
                 'split file with an image outside the pool'):
        read_split(str(tmp_path / 'c'), pool)


def test_atomic_write_keeps_old_file_on_crash(tmp_path, monkeypatch):
    path = str(tmp_path / 'labeled.json')
    fileio.atomic_write_json({'v': 1}, path)

    def crash(fd):
        raise OSError('disk died mid-write')

    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(OSError, match='disk died'):
        fileio.atomic_write_json({'v': 2, 'big': list(range(10_000))}, path)
    with open(path) as f:
        assert json.load(f) == {'v': 1}
    assert os.listdir(tmp_path) == ['labeled.json']  # no temp file left
    # a value that cannot be serialised never touches the file either
    monkeypatch.undo()
    with pytest.raises(TypeError):
        fileio.atomic_write_json({'v': object()}, path)
    with open(path) as f:
        assert json.load(f) == {'v': 1}


def test_label_map_records_the_cycle_of_every_image(tmp_path):
    pool = make_pool(tmp_path, 8)
    ids = pool.ids
    update_label_map(str(tmp_path), pool, ids[:0], ids[:3], 0)
    out = update_label_map(str(tmp_path), pool, ids[:3], ids[3:5], 1)
    assert [out[str(i)] for i in ids] == [0, 0, 0, 1, 1, None, None, None]
    with refused(SplitError, 'already labeled in cycle 0',
                 'an image labeled twice'):
        update_label_map(str(tmp_path), pool, ids[:5], ids[:1], 2)


def test_pool_rejects_bad_boxes_and_categories(tmp_path):
    pool = make_pool(tmp_path, 3)
    data = json.loads(open(pool.ann_file).read())
    data['annotations'].append(
        dict(
            id=99,
            image_id=data['images'][0]['id'],
            category_id=1,
            bbox=[45, 0, 10, 10]))
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(data))
    with refused(SplitError, r'bad.json.*box \[45, 0, 10, 10\]',
                 'pool box outside its image'):
        Pool(str(bad))
    data['annotations'][-1].update(bbox=[0, 0, 5, 5], category_id=7)
    bad.write_text(json.dumps(data))
    with refused(SplitError, 'has category_id 7',
                 'pool box of an unknown category'):
        Pool(str(bad))


def test_pool_rejects_repeated_ids_and_bad_categories(tmp_path):
    pool = make_pool(tmp_path, 3)
    data = json.loads(open(pool.ann_file).read())
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(data, images=data['images'] * 2)))
    with refused(SplitError, r"bad.json': image id \d+ appears twice",
                 'pool image id repeated'):
        Pool(str(bad))
    cats = [dict(c) for c in data['categories']]
    del cats[0]['name']
    bad.write_text(json.dumps(dict(data, categories=cats)))
    with refused(
            SplitError, r'categories\[0\] needs an integer "id" and a '
            'string "name"', 'pool category without a name'):
        Pool(str(bad))


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_pool_rejects_non_finite_boxes_and_sizes(tmp_path, value):
    pool = make_pool(tmp_path, 3)
    data = json.loads(open(pool.ann_file).read())
    data['annotations'].append(
        dict(
            id=99,
            image_id=data['images'][0]['id'],
            category_id=1,
            bbox=[0, 0, value, 10]))
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(data))  # python writes NaN / Infinity
    with refused(SplitError, r'bad.json.*finite numbers',
                 f'pool box with {value}'):
        Pool(str(bad))
    data['annotations'].pop()
    data['images'][1]['width'] = value
    bad.write_text(json.dumps(data))
    with refused(SplitError, r'images\[1\] "width" must be',
                 f'pool image width {value}'):
        Pool(str(bad))


def test_manual_oracle_refuses_a_box_on_an_image_not_requested(tmp_path):
    from mmal.active_learning import AnnotationRequired, ManualOracle
    pool = make_pool(tmp_path, 4)
    oracle = ManualOracle(pool, img_dir=str(tmp_path))
    ids = pool.ids[:2].tolist()
    cdir = tmp_path / 'cycle_1'
    with pytest.raises(AnnotationRequired):
        oracle.reveal(ids, str(cdir))
    answer = json.loads((cdir / 'to_annotate.json').read_text())
    other = int(pool.ids[3])
    answer['annotations'] = [
        dict(id=1, image_id=ids[0], category_id=1, bbox=[0, 0, 2, 2]),
        dict(id=2, image_id=other, category_id=1, bbox=[0, 0, 2, 2])
    ]
    (cdir / 'annotated.json').write_text(json.dumps(answer))
    with refused(
            SplitError, rf'annotated.json.*image_id {other}, which is '
            'not among the images',
            'annotated.json with a box on an image not requested'):
        oracle.reveal(ids, str(cdir))
    answer['annotations'][1] = dict(
        id=2, image_id=ids[1], category_id=1, bbox=[0, 0,
                                                    float('nan'), 2])
    (cdir / 'annotated.json').write_text(json.dumps(answer))
    with refused(SplitError, r'annotated.json.*finite numbers',
                 'annotated.json with a NaN box'):
        oracle.reveal(ids, str(cdir))
    answer['annotations'].pop()
    (cdir / 'annotated.json').write_text(json.dumps(answer))
    got = oracle.reveal(ids, str(cdir))
    assert [len(got[i]) for i in ids] == [1, 0]


def test_a_split_format_is_written_from_the_work_dir_interface(tmp_path):
    """Adding a split format (here LL4AL-style id lists, one file a
    cycle) needs the work-dir layout and read_split only."""
    from mmal.active_learning import WorkDir, write_split
    pool = make_pool(tmp_path, 6)
    work = WorkDir(tmp_path / 'work')
    anns = {int(i): pool.anns_by_image[int(i)] for i in pool.ids[:2]}
    write_split(work.cycle(0), pool, anns)

    def export_id_lists(work: WorkDir, k: int) -> str:
        split = read_split(work.cycle(k), pool)
        out = work.cycle(k).file('labeled_ids.txt')
        fileio.atomic_write_text(''.join(f'{i}\n' for i in split.labeled_ids),
                                 out)
        return out

    out = export_id_lists(work, 0)
    assert open(out).read().split() == [str(i) for i in pool.ids[:2]]
