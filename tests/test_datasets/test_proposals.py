import json
import os
import os.path as osp
import pickle
import runpy
import shutil
import subprocess
import sys
import time
import zipfile

import cv2
import numpy as np
import pytest

from mmal.datasets import (apply_clean, clean_proposals,
                           convert_proposal_pickle, load_proposals,
                           make_toy_benchmark, make_toy_proposals,
                           proposal_recall, read_proposal_meta,
                           read_proposal_pickle, save_proposals, toy_proposals)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GENERATE = osp.join(REPO, 'tools', 'misc', 'generate_proposals.py')
CONVERT = osp.join(REPO, 'tools', 'misc', 'convert_proposals.py')


@pytest.fixture(scope='module')
def toy30(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy30'))
    paths = make_toy_benchmark(root, num_train=30, num_val=5, seed=0)
    return root, paths


# --------------------------------------------------------------------------
# npz format


def test_round_trip(tmp_path):
    path = str(tmp_path / 'props.npz')
    boxes = [
        np.array([[0, 0, 10, 10], [2.5, 3, 8, 9]], np.float64),
        np.zeros((0, 4)), [[1, 2, 3, 4]]
    ]
    scores = [np.array([0.9, 0.1]), np.zeros(0), [0.5]]
    save_proposals(
        path, [7, 3, 11],
        boxes,
        scores,
        file_names=['a.png', 'b.png', 'sub/c.png'],
        meta=dict(seed=1))
    props = load_proposals(path)
    assert list(props) == [7, 3, 11]
    assert props[7]['bboxes'].dtype == np.float32
    np.testing.assert_allclose(props[7]['bboxes'], boxes[0])
    np.testing.assert_allclose(props[7]['scores'], [0.9, 0.1], rtol=1e-6)
    assert props[3]['bboxes'].shape == (0, 4)
    assert props[3]['scores'].shape == (0, )
    np.testing.assert_allclose(props[11]['bboxes'], [[1, 2, 3, 4]])
    assert read_proposal_meta(path) == dict(seed=1)
    with np.load(path, allow_pickle=False) as npz:
        assert npz['image_ids'].dtype == np.int64
        np.testing.assert_array_equal(npz['offsets'], [0, 2, 2, 3])
        assert npz['boxes'].dtype == np.float32
        assert npz['scores'].dtype == np.float32
        assert npz['file_names'].dtype.kind == 'U'
        assert list(npz['file_names']) == ['a.png', 'b.png', 'sub/c.png']
    with zipfile.ZipFile(path) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED
                   for i in zf.infolist())
    assert os.listdir(tmp_path) == ['props.npz']  # no temporary left


def test_round_trip_without_scores(tmp_path):
    path = str(tmp_path / 'props.npz')
    save_proposals(path, [1], [[[0, 0, 5, 5]]])
    props = load_proposals(path)
    np.testing.assert_array_equal(props[1]['scores'], [0])
    assert read_proposal_meta(path) is None


@pytest.mark.parametrize('kwargs, match', [
    (dict(image_ids=[1, 2], boxes=[np.zeros((1, 4))]), 'boxes: expected 2'),
    (dict(image_ids=[1], boxes=[np.zeros((2, 3))]), r'boxes\[0\].*\(N, 4\)'),
    (dict(image_ids=[1], boxes=[[[0, 0, np.nan, 1]]]), 'non-finite'),
    (dict(image_ids=[1, 1], boxes=[np.zeros((0, 4))] * 2), 'duplicate id 1'),
    (dict(image_ids=[1], boxes=[np.zeros(
        (2, 4))], scores=[[1]]), r'scores\[0\].*expected 2'),
    (dict(image_ids=[1.5], boxes=[np.zeros((0, 4))]), 'image_ids'),
])
def test_save_validates(tmp_path, kwargs, match):
    path = str(tmp_path / 'p.npz')
    with pytest.raises(ValueError, match=match):
        save_proposals(path, **kwargs)
    assert not osp.exists(path)


def _valid_arrays():
    return dict(
        image_ids=np.array([1, 2], np.int64),
        offsets=np.array([0, 1, 3], np.int64),
        boxes=np.zeros((3, 4), np.float32))


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.npz'):
        load_proposals(str(tmp_path / 'nope.npz'))


@pytest.mark.parametrize('change, field, match', [
    (dict(offsets=None), 'offsets', 'missing field'),
    (dict(offsets=np.array([0, 1, 2])), 'offsets', 'end at len'),
    (dict(offsets=np.array([1, 1, 3])), 'offsets', 'start at 0'),
    (dict(offsets=np.array([0, 3, 2, 3])), 'offsets', 'length 3'),
    (dict(offsets=np.array([0, 3, 1])), 'offsets', 'non-decreasing'),
    (dict(image_ids=np.array([4, 4])), 'image_ids', 'unique; id 4'),
    (dict(image_ids=np.array([1.0, 2.0])), 'image_ids', 'integer'),
    (dict(boxes=np.zeros((3, 5), np.float32)), 'boxes', r'\(N, 4\)'),
    (dict(scores=np.zeros(2, np.float32)), 'scores', r'shape \(3,\)'),
    (dict(file_names=np.array([1, 2])), 'file_names', 'unicode'),
])
def test_load_errors_name_file_and_field(tmp_path, change, field, match):
    arrays = _valid_arrays()
    arrays.update(change)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path = str(tmp_path / 'bad.npz')
    np.savez(path, **arrays)
    with pytest.raises(ValueError) as info:
        load_proposals(path)
    msg = str(info.value)
    assert path in msg and field in msg, msg
    assert __import__('re').search(match, msg), msg


def test_load_refuses_object_arrays(tmp_path):
    arrays = _valid_arrays()
    arrays['boxes'] = np.array([np.zeros(4), np.zeros(4), None], dtype=object)
    path = str(tmp_path / 'objects.npz')
    np.savez(path, **arrays)  # numpy pickles object arrays on save
    with pytest.raises(ValueError, match='boxes.*pickle') as info:
        load_proposals(path)
    assert path in str(info.value)


def test_load_refuses_non_npz(tmp_path):
    path = tmp_path / 'junk.npz'
    path.write_bytes(b'not a zip file at all')
    with pytest.raises(ValueError, match='junk.npz'):
        load_proposals(str(path))


# --------------------------------------------------------------------------
# cleaning


def test_clean_proposals_planted():
    boxes = np.array([
        [-5, -5, 20, 20],  # 0 clipped to 0 0 20 20: kept
        [10, 10, 12, 30],  # 1 width exactly 2: kept
        [10, 10, 11.9, 30],  # 2 width 1.9: dropped
        [0.2, 0.1, 20.3, 19.8],  # 3 rounds to box 0: dropped
        [90, 40, 150, 80],  # 4 clipped to 90 40 100 50: kept
        [120, 10, 130, 20],  # 5 outside (width 0 after clipping): dropped
        [30, 30, 40, 45],  # 6 kept
        [30.4, 30, 40, 45],  # 7 rounds to box 6: dropped
        [5, 5, 25, 25],  # 8 kept
        [30, 30, 40, 45],  # 9 exact copy of 6: dropped
        [40, 49, 60, 60],  # 10 height 1 after clipping: dropped
    ])
    keep = clean_proposals(boxes, (50, 100))
    assert keep.dtype == np.int64
    np.testing.assert_array_equal(keep, [0, 1, 4, 6, 8])
    np.testing.assert_array_equal(
        clean_proposals(boxes, (50, 100), min_size=10), [0, 4, 6, 8])
    assert clean_proposals(np.zeros((0, 4)), (10, 10)).shape == (0, )
    # duplicates keep the first occurrence, whatever the sort order
    twin = np.array([[5, 5, 9, 9], [1, 1, 4, 4], [5.2, 5, 9, 9]])
    np.testing.assert_array_equal(clean_proposals(twin, (20, 20)), [0, 1])
    twin = np.array([[5.2, 5, 9, 9], [1, 1, 4, 4], [5, 5, 9, 9]])
    np.testing.assert_array_equal(clean_proposals(twin, (20, 20)), [0, 1])


def test_apply_clean():
    boxes = np.array([[-5, -5, 20, 20], [10, 10, 11, 30], [90, 40, 150, 80]])
    out, scores = apply_clean(boxes, np.array([0.1, 0.2, 0.3]), (50, 100))
    np.testing.assert_array_equal(out, [[0, 0, 20, 20], [90, 40, 100, 50]])
    np.testing.assert_allclose(scores, [0.1, 0.3], rtol=1e-6)
    assert out.dtype == np.float32 and scores.dtype == np.float32
    assert apply_clean(boxes, None, (50, 100))[1] is None


# --------------------------------------------------------------------------
# pickles of other projects


def _voc_json(tmp_path):
    images = [
        dict(id=i + 1, file_name=f'{stem}.jpg', width=100, height=80)
        for i, stem in enumerate(['000005', '000012', '000020'])
    ]
    path = str(tmp_path / 'voc.json')
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=[], categories=[]), f)
    return path


def _dump(obj, path, protocol=pickle.HIGHEST_PROTOCOL):
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)
    return str(path)


@pytest.mark.parametrize('protocol', [2, pickle.HIGHEST_PROTOCOL])
def test_convert_wetectron_voc_yxyx_one_based(tmp_path, protocol):
    ann = _voc_json(tmp_path)

    def matlab(xyxy):  # 0-based x1 y1 x2 y2 -> 1-based y1 x1 y2 x2
        b = np.asarray(xyxy, np.float64) + 1
        return b[:, [1, 0, 3, 2]]

    boxes = [
        matlab([[10, 20, 50, 60], [-3, -3, 200, 200], [5, 5, 6, 30]]),
        matlab([[0, 0, 30, 30]]),
        matlab([[1, 2, 3, 4]]),  # of an image not in the json
        matlab([[40, 40, 70, 70], [40.2, 40, 70, 70]]),
    ]
    data = dict(
        boxes=boxes,
        scores=[np.arange(len(b), dtype=np.float32) for b in boxes],
        indexes=[np.int64(5), 12, 99, 20])  # VOC: int(file-name stem)
    pkl = _dump(data, tmp_path / 'ss.pkl', protocol)
    out = str(tmp_path / 'out.npz')
    report = convert_proposal_pickle(
        pkl, ann, out, box_order='yxyx', one_based=True)
    assert report['match_by'] == 'file_name_stem'
    assert (report['images'], report['matched'], report['missing'],
            report['unmatched_entries']) == (3, 3, 0, 1)
    assert (report['boxes_before'], report['boxes_after']) == (6, 4)
    props = load_proposals(out)
    assert sorted(props) == [1, 2, 3]
    np.testing.assert_allclose(props[1]['bboxes'],
                               [[10, 20, 50, 60], [0, 0, 100, 80]])
    np.testing.assert_allclose(props[1]['scores'], [0, 1])
    np.testing.assert_allclose(props[2]['bboxes'], [[0, 0, 30, 30]])
    np.testing.assert_allclose(props[3]['bboxes'], [[40, 40, 70, 70]])


def test_convert_coco_ids_and_missing(tmp_path):
    ann = _voc_json(tmp_path)
    pkl = _dump(
        dict(boxes=[np.array([[0, 0, 10, 10.]])], ids=[2]), tmp_path / 'a.pkl')
    out = str(tmp_path / 'out.npz')
    with pytest.raises(ValueError, match='2 of 3 images have no proposals'):
        convert_proposal_pickle(pkl, ann, out)
    assert not osp.exists(out)
    report = convert_proposal_pickle(pkl, ann, out, allow_missing=True)
    assert report['match_by'] == 'id'
    assert (report['matched'], report['missing']) == (1, 2)
    props = load_proposals(out)
    assert props[1]['bboxes'].shape == (0, 4)
    np.testing.assert_allclose(props[2]['bboxes'], [[0, 0, 10, 10]])
    np.testing.assert_array_equal(props[2]['scores'], [0])


def test_convert_mmdet_layout_and_cli(tmp_path, capsys):
    ann = _voc_json(tmp_path)
    data = {
        f'JPEGImages/{stem}.jpg':
        dict(
            bboxes=np.array([[1, 2, 30, 40]], np.float32),
            scores=np.array([0.7], np.float32))
        for stem in ('000005', '000012', '000020')
    }
    pkl = _dump(data, tmp_path / 'mmdet.pkl')
    assert read_proposal_pickle(pkl)['file_keys'][0] == 'JPEGImages/000005.jpg'
    out = str(tmp_path / 'out.npz')
    runpy.run_path(CONVERT)['main']([pkl, ann, out])
    report = json.loads(capsys.readouterr().out)
    assert report['match_by'] == 'file_name' and report['matched'] == 3
    np.testing.assert_allclose(load_proposals(out)[3]['scores'], [0.7])


def test_read_pickle_layout_errors(tmp_path):
    pkl = _dump(dict(boxes=[np.zeros((1, 4))]), tmp_path / 'noid.pkl')
    with pytest.raises(ValueError, match='noid.pkl.*neither indexes nor ids'):
        read_proposal_pickle(pkl)
    pkl = _dump([np.zeros((1, 4))], tmp_path / 'list.pkl')
    with pytest.raises(ValueError, match='list.pkl.*got list'):
        read_proposal_pickle(pkl)
    pkl = _dump(
        dict(boxes=[np.zeros((1, 3))], ids=[1]), tmp_path / 'shape.pkl')
    with pytest.raises(ValueError, match=r'shape.pkl: boxes\[0\]'):
        read_proposal_pickle(pkl)
    pkl = _dump(dict(boxes=[np.zeros((1, 4))], ids=[1, 2]), tmp_path / 'n.pkl')
    with pytest.raises(ValueError, match='1 entries in boxes but 2 in ids'):
        read_proposal_pickle(pkl)


class _Py2Array:
    """Pickles like a py2 numpy array: numpy.core names, data as str."""

    def __init__(self, array):
        self.array = array

    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct
        a = self.array
        return _reconstruct, (np.ndarray,
                              (0, ), b'b'), (1, a.shape, a.dtype, False,
                                             a.tobytes().decode('latin1'))


def test_read_py2_style_pickle(tmp_path):
    boxes = np.array([[1.5, 2, 300, 4e5]], np.float32)
    raw = pickle.dumps(dict(boxes=[_Py2Array(boxes)], indexes=[5]), protocol=2)
    raw = raw.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    assert b'numpy.core.multiarray' in raw
    path = tmp_path / 'py2.pkl'
    path.write_bytes(raw)
    data = read_proposal_pickle(str(path))
    assert data['ids'] == [5] and data['scores'] is None
    np.testing.assert_array_equal(data['boxes'][0], boxes)


class _Evil:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    ann = _voc_json(tmp_path)
    for name, payload in [
        ('system', _Evil(marker)),
        ('eval', _EvalPayload(marker)),
    ]:
        pkl = _dump(
            dict(boxes=[np.zeros((1, 4))], ids=[1], extra=payload),
            tmp_path / f'{name}.pkl')
        with pytest.raises(pickle.UnpicklingError) as info:
            read_proposal_pickle(pkl)
        assert pkl in str(info.value) and name in str(info.value)
        with pytest.raises(pickle.UnpicklingError):
            convert_proposal_pickle(pkl, ann, str(tmp_path / 'o.npz'))
    assert not marker.exists()
    assert not (tmp_path / 'o.npz').exists()


class _EvalPayload(_Evil):

    def __reduce__(self):
        return eval, (f'open({str(self.marker)!r}, "w")', )


# --------------------------------------------------------------------------
# toy proposals


def test_toy_proposals_recall_and_reuse(toy30):
    root, paths = toy30
    out = make_toy_proposals(root, {'train': paths['train']})
    path = out['train']
    assert path == osp.join(root, 'proposals', 'proposals_train.npz')
    props = load_proposals(path)
    with open(paths['train']) as f:
        assert sorted(props) == sorted(i['id'] for i in json.load(f)['images'])
    assert max(len(p['bboxes']) for p in props.values()) <= 300
    assert proposal_recall(props, paths['train'], 0.5) >= 0.9
    assert proposal_recall(props, paths['train'], 0.7) >= 0.7
    assert read_proposal_meta(path)['seed'] == 0
    mtime = os.stat(path).st_mtime_ns
    time.sleep(0.01)
    assert make_toy_proposals(root, {'train': paths['train']}) == out
    assert os.stat(path).st_mtime_ns == mtime  # reused, not rewritten
    make_toy_proposals(root, {'train': paths['train']}, seed=1)
    assert read_proposal_meta(path)['seed'] == 1


def test_toy_proposals_deterministic_and_capped(toy30):
    root, _ = toy30
    img = cv2.imread(osp.join(root, 'val', '000001.png'))[:, :, ::-1]
    b1, s1 = toy_proposals(img, rng=np.random.default_rng(3))
    b2, s2 = toy_proposals(img, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(b1, b2)
    np.testing.assert_array_equal(s1, s2)
    assert b1.dtype == np.float32 and b1.shape[1] == 4 and len(s1) == len(b1)
    assert len(b1) <= 300
    assert (b1[:, 2:] - b1[:, :2] >= 2).all()
    assert (b1[:, :2] >= 0).all() and (b1[:, 2:] <= 128).all()
    for cap in (1, 20):
        assert len(toy_proposals(img, cap)[0]) == cap
    # any RGB image works, also a flat one
    big = np.random.default_rng(0).integers(0, 255, (300, 500, 3), np.uint8)
    boxes, _ = toy_proposals(big)
    assert len(boxes) and boxes[:, 2].max() <= 500
    assert len(toy_proposals(np.full((40, 40, 3), 90, np.uint8))[0])


# --------------------------------------------------------------------------
# tools/misc/generate_proposals.py


def _run(*args):
    return subprocess.run([sys.executable, GENERATE, *args],
                          capture_output=True,
                          text=True,
                          timeout=120)


def test_generate_proposals_toy_on_folder(toy30, tmp_path):
    root, _ = toy30
    img_dir = tmp_path / 'imgs'
    img_dir.mkdir()
    for i, name in enumerate(['b.png', 'a.png', 'c.png']):
        shutil.copy(osp.join(root, 'val', f'{i + 1:06d}.png'), img_dir / name)
    (img_dir / 'notes.txt').write_text('not an image')
    out = str(tmp_path / 'props.npz')
    res = _run(str(img_dir), out, '--method', 'toy')
    assert res.returncode == 0, res.stderr
    with open(tmp_path / 'props.json') as f:
        coco = json.load(f)
    assert [(i['id'], i['file_name'])
            for i in coco['images']] == [(1, 'a.png'), (2, 'b.png'),
                                         (3, 'c.png')]
    assert coco['images'][0]['width'] == 128
    props = load_proposals(out)
    assert sorted(props) == [1, 2, 3]
    assert all(0 < len(p['bboxes']) <= 300 for p in props.values())
    # image 2 is b.png, the first val image
    img = cv2.imread(osp.join(root, 'val', '000001.png'))[:, :, ::-1]
    expected, _ = toy_proposals(img, 300, np.random.default_rng([0, 2]))
    np.testing.assert_allclose(props[2]['bboxes'], expected)


@pytest.mark.skipif(
    hasattr(cv2, 'ximgproc'), reason='OpenCV contrib is installed')
def test_generate_proposals_without_contrib_fails_fast(tmp_path):
    out = str(tmp_path / 'props.npz')
    res = _run(str(tmp_path), out, '--method', 'selective-search')
    assert res.returncode != 0
    assert 'opencv-contrib-python-headless' in res.stderr
    assert '--method toy' in res.stderr
    assert not osp.exists(out)
