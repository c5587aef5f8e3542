"""``tools/dataset_converters/convert_proposals.py``: proposal pickles of
other projects (read with the numpy-only unpickler) to proposal ``.npz``,
and VOC image sets as COCO image records."""
import importlib.util
import json
import os
import os.path as osp
import pickle
import runpy

import numpy as np
import pytest

from mmal.datasets import load_proposals

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERT = osp.join(REPO, 'tools', 'dataset_converters', 'convert_proposals.py')


def _load_module():
    spec = importlib.util.spec_from_file_location('convert_proposals', CONVERT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CONVERT = _load_module()
convert_proposal_pickle = _CONVERT.convert_proposal_pickle
read_proposal_pickle = _CONVERT.read_proposal_pickle
voc_image_set = _CONVERT.voc_image_set


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
# VOC image sets


def _voc_devkit(tmp_path, sizes, lines):
    """A planted ``VOC2007`` folder: ``ImageSets/Main/trainval.txt`` with
    ``lines`` and one ``Annotations/{stem}.xml`` per ``sizes`` entry (stem
    -> (width, height), or a raw xml string)."""
    voc = tmp_path / 'VOC2007'
    (voc / 'ImageSets' / 'Main').mkdir(parents=True)
    (voc / 'Annotations').mkdir()
    for stem, size in sizes.items():
        xml = size if isinstance(size, str) else (
            f'<annotation><filename>{stem}.jpg</filename><size><width>'
            f'{size[0]}</width><height>{size[1]}</height><depth>3</depth>'
            f'</size></annotation>')
        (voc / 'Annotations' / f'{stem}.xml').write_text(xml)
    image_set = voc / 'ImageSets' / 'Main' / 'trainval.txt'
    image_set.write_text(lines)
    return str(image_set)


def test_voc_image_set_planted(tmp_path):
    # a plain set, a class set's "stem  1" line, blank lines, no final \n
    image_set = _voc_devkit(tmp_path, {
        '000012': (500, 333),
        '000005': (353, 500),
        '000020': (64, 48)
    }, '000012\n\n000005  1\n  \n000020 -1')
    images = voc_image_set(image_set)
    assert images == [
        dict(id=12, file_name='000012.jpg', width=500, height=333),
        dict(id=5, file_name='000005.jpg', width=353, height=500),
        dict(id=20, file_name='000020.jpg', width=64, height=48),
    ]
    assert all(
        type(v) is int for im in images for k, v in im.items()
        if k != 'file_name')


def test_voc_image_set_missing_or_bad_xml(tmp_path):
    image_set = _voc_devkit(tmp_path, {'000005': (353, 500)},
                            '000005\n000007\n')
    missing = osp.join(str(tmp_path), 'VOC2007', 'Annotations', '000007.xml')
    with pytest.raises(ValueError) as info:
        voc_image_set(image_set)
    msg = str(info.value)
    assert msg.startswith(f'{missing}: cannot read the image size of 000007 '
                          f'listed in {image_set}'), msg
    bad = tmp_path / 'bad'
    bad.mkdir()
    for name, xml in [('nosize', '<annotation></annotation>'),
                      ('notint', '<annotation><size><width>x</width>'
                       '<height>3</height></size></annotation>'),
                      ('broken', '<annotation><size>')]:
        folder = bad / name
        folder.mkdir()
        image_set = _voc_devkit(folder, {'000001': xml}, '000001\n')
        with pytest.raises(ValueError, match='image size of 000001'):
            voc_image_set(image_set)
