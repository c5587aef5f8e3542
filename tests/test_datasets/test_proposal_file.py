"""The proposal ``.npz`` format: writing, reading, validation."""
import os
import os.path as osp
import re
import zipfile

import numpy as np
import pytest

from mmal.datasets import load_proposals, read_proposal_meta, save_proposals


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
    assert re.search(match, msg), msg


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
