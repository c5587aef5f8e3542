"""Tests for ``tools/analysis/visualize_selection.py`` on a fake work dir."""
import importlib.util
import json
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest

from mmal.active_learning.summary_store import SummaryStore, write_shard

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'analysis', 'visualize_selection.py')
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
BACKGROUND = 40
H, W = 100, 120
# categories in file order: 'cat' is class 0, 'dog' class 1
CATEGORIES = [dict(id=3, name='cat'), dict(id=1, name='dog')]
SELECTED_IDS = [12, 11, 13]  # pick order
SCORES = [0.875, 0.5, 0.125]
# image id -> planted pairs: (small box, large box, class index)
PAIRS = {
    12: [([20, 20, 40, 40], [10, 10, 80, 70], 1)],
    11: [([30, 30, 45, 45], [25, 25, 90, 80], 0),
         ([60, 15, 70, 25], [55, 12, 110, 40], 1)],
    13: [],
}
GT = {12: [[5, 50, 30, 40]]}  # COCO x, y, w, h of category 'cat' (id 3)
#: What BiB declares for display (recorded in the store's meta).
BIB_DISPLAY = [
    'det_boxes', 'det_scores', 'det_labels', 'pair_boxes', 'pair_labels'
]


def _load_module():
    spec = importlib.util.spec_from_file_location('visualize_selection',
                                                  SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


vis = _load_module()


def _dump(obj, path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f)


def _store(work_dir, ids, summaries, **meta):
    """Write the summary store of cycle_0: ``meta`` first (which drops
    the shards of another meta), then one shard."""
    acq = osp.join(str(work_dir), 'cycle_0', 'acquisition')
    SummaryStore(acq).prepare(dict(meta))
    write_shard(osp.join(acq, 'rank0-00000'), ids, summaries)


def _summary(pairs):
    boxes = np.array([s + g for s, g, _ in pairs], np.float32).reshape(-1, 8)
    labels = np.array([c for _, _, c in pairs], np.int64)
    det_boxes = np.concatenate([boxes[:, :4], boxes[:, 4:]]).reshape(-1, 4)
    return dict(
        pair_boxes=boxes,
        pair_labels=labels,
        pair_feats=np.zeros((len(pairs), 4), np.float16),
        det_boxes=det_boxes,
        det_scores=np.full(len(det_boxes), 0.9, np.float32),
        det_labels=np.concatenate([labels, labels]))


@pytest.fixture
def work_dir(tmp_path):
    """A work dir with cycle_0 shards and cycle_1's selection; the image
    folder is only named by run.json's config."""
    img_dir = tmp_path / 'data' / 'images'
    img_dir.mkdir(parents=True)
    images = []
    for img_id in [5] + SELECTED_IDS:
        name = f'img_{img_id}.png'
        cv2.imwrite(
            str(img_dir / name), np.full((H, W, 3), BACKGROUND, np.uint8))
        images.append(dict(id=img_id, file_name=name, height=H, width=W))
    anns = [
        dict(
            id=i + 1,
            image_id=img_id,
            category_id=3,
            bbox=bbox,
            area=1.0,
            iscrowd=0) for i, (img_id, boxes) in enumerate(GT.items())
        for bbox in boxes
    ]
    wd = tmp_path / 'work'
    _dump(
        dict(images=images, annotations=anns, categories=CATEGORIES),
        str(wd / 'cycle_1' / 'labeled.json'))
    _dump(
        dict(
            cycle=1,
            scored_by_cycle=0,
            image_ids=SELECTED_IDS,
            scores=SCORES,
            strategy=dict(type='bib')), str(wd / 'cycle_1' / 'selected.json'))
    config = dict(
        train_dataloader=dict(
            dataset=dict(
                type='CocoDataset',
                data_root=str(tmp_path / 'data'),
                ann_file='pool.json',
                data_prefix=dict(img='images/'))),
        al=dict(pool=dict(ann_file=None, img_dir=None)))
    _dump(dict(config=config), str(wd / 'run.json'))
    ids = sorted(PAIRS) + [77]  # 77: scored, not selected
    _store(
        wd,
        ids, [_summary(PAIRS.get(i, [])) for i in ids],
        strategy=dict(type='bib'),
        display_fields=BIB_DISPLAY)
    return str(wd)


def _rows(index_html):
    """image id -> (rank, pair count) from the index table."""
    out = {}
    for m in re.finditer(
            r'<tr id="img-(\d+)">.*?<td>(\d+)</td><td>\d+</td>.*?'
            r'<td class="pairs">([-\d]+)</td>', index_html):
        out[int(m.group(1))] = (int(m.group(2)), m.group(3))
    return out


def test_draws_selection(work_dir):
    assert vis.main([work_dir, '--cycle', '1', '--min-size', '0']) == 0
    out = osp.join(work_dir, 'cycle_1', 'visualization')
    names = ['000_12.png', '001_11.png', '002_13.png']
    assert sorted(f for f in os.listdir(out) if f.endswith('.png')) == names
    for name in names:
        with open(osp.join(out, name), 'rb') as f:
            assert f.read(8) == PNG_MAGIC
    # no temporary files of the atomic writes left behind
    assert sorted(os.listdir(out)) == names + ['index.html']

    img = cv2.imread(osp.join(out, '000_12.png'))
    assert img.shape == (H, W, 3)
    dog = np.array(vis.class_color(1))
    small, large, _ = PAIRS[12][0]
    # middle of the large box's right and bottom edges: the class colour
    np.testing.assert_array_equal(img[(large[1] + large[3]) // 2, large[2]],
                                  dog)
    np.testing.assert_array_equal(img[large[3], (large[0] + large[2]) // 2],
                                  dog)
    # the large box is thick (3 px), the small box thin
    assert (np.abs(img[40, large[2] - 1].astype(int) - dog).max() < 60)
    assert (img[30, small[2] - 2] == BACKGROUND).all()
    # the small box is dashed: its top edge has the colour, then a gap
    top = img[small[1], small[0]:small[2] + 1]
    assert (top == dog).all(axis=1).sum() >= 8
    assert (top == BACKGROUND).all(axis=1).sum() >= 4
    # far from every box: untouched; no GT drawn without --show-gt
    assert (img[90, 110] == BACKGROUND).all()
    assert (img[60, 5] == BACKGROUND).all()
    # the other class has another colour, drawn on the other image
    img = cv2.imread(osp.join(out, '001_11.png'))
    _, large, _ = PAIRS[11][0]
    np.testing.assert_array_equal(img[(large[1] + large[3]) // 2, large[2]],
                                  vis.class_color(0))
    assert vis.class_color(0) != vis.class_color(1)
    # no pairs: nothing drawn
    img = cv2.imread(osp.join(out, '002_13.png'))
    assert (img == BACKGROUND).all()

    with open(osp.join(out, 'index.html')) as f:
        index = f.read()
    assert _rows(index) == {12: (0, '1'), 11: (1, '2'), 13: (2, '0')}
    for name in names:
        assert f'src="{name}"' in index
    assert '0.875' in index and 'bib' in index
    assert 'dog' in index and 'cat' in index  # legend / pair classes
    assert vis.color_hex(vis.class_color(1)) in index


def test_max_images_out_and_gt(work_dir, tmp_path):
    out = str(tmp_path / 'vis')
    img_dir = osp.join(str(tmp_path), 'data', 'images')
    vis.main([
        work_dir, '--cycle', '1', '--max-images', '2', '--out', out,
        '--img-dir', img_dir, '--show-gt', '--no-progress', '--min-size', '0'
    ])
    assert sorted(
        os.listdir(out)) == ['000_12.png', '001_11.png', 'index.html']
    with open(osp.join(out, 'index.html')) as f:
        assert set(_rows(f.read())) == {12, 11}
    img = cv2.imread(osp.join(out, '000_12.png'))
    x, y, w, h = GT[12][0]
    assert (img[y + h // 2, x] == 255).all()  # GT: white
    assert not osp.exists(osp.join(work_dir, 'cycle_1', 'visualization'))


def test_summaries_without_pairs(work_dir):
    """Another strategy's summaries: images drawn as they are."""
    _store(
        work_dir,
        SELECTED_IDS, [dict(score=np.float32(0.5)) for _ in SELECTED_IDS],
        strategy=dict(type='entropy'),
        display_fields=[])
    vis.main([work_dir, '--cycle', '1', '--no-progress', '--min-size', '0'])
    out = osp.join(work_dir, 'cycle_1', 'visualization')
    assert (cv2.imread(osp.join(out, '000_12.png')) == BACKGROUND).all()
    with open(osp.join(out, 'index.html')) as f:
        assert _rows(f.read()) == {12: (0, '-'), 11: (1, '-'), 13: (2, '-')}


def _error(argv):
    with pytest.raises(SystemExit) as e:
        vis.main(argv)
    msg = str(e.value.code)
    assert '\n' not in msg
    return msg


def test_clear_errors(work_dir, tmp_path):
    missing = str(tmp_path / 'nope')
    msg = _error([missing, '--cycle', '1'])
    assert missing in msg and 'work dir' in msg

    msg = _error([work_dir, '--cycle', '0'])
    assert 'cycle_0' in msg and 'initial' in msg

    msg = _error([work_dir, '--cycle', '2'])
    assert osp.join(work_dir, 'cycle_2', 'selected.json') in msg
    assert 'no such file' in msg

    gone = osp.join(str(tmp_path), 'data', 'images', 'img_11.png')
    os.remove(gone)
    msg = _error([work_dir, '--cycle', '1'])
    assert gone in msg and '--img-dir' in msg


def test_small_images_are_enlarged_with_their_boxes(work_dir, tmp_path):
    out = str(tmp_path / 'zoomed')
    vis.main([
        work_dir, '--cycle', '1', '--out', out, '--no-progress', '--min-size',
        str(4 * min(H, W))
    ])
    img = cv2.imread(osp.join(out, '000_12.png'))
    assert img.shape == (4 * H, 4 * W, 3)
    small, large, _ = PAIRS[12][0]
    # the large box's right edge moved with the image
    np.testing.assert_array_equal(img[2 * (large[1] + large[3]), 4 * large[2]],
                                  np.array(vis.class_color(1)))


def test_undeclared_fields_are_not_drawn(work_dir):
    """The summaries hold BiB's pairs, but the strategy declared only its
    detections for display: the pairs are not drawn (and ``pair_feats``,
    not a display field, is not read)."""
    ids = sorted(PAIRS)
    _store(
        work_dir,
        ids, [_summary(PAIRS[i]) for i in ids],
        strategy=dict(type='bib'),
        display_fields=['det_boxes', 'det_labels', 'pair_feats'])
    vis.main([work_dir, '--cycle', '1', '--no-progress', '--min-size', '0'])
    out = osp.join(work_dir, 'cycle_1', 'visualization')
    img = cv2.imread(osp.join(out, '000_12.png'))
    dog = np.array(vis.class_color(1))
    small, large, _ = PAIRS[12][0]
    # both boxes are thin detections in the class colour
    np.testing.assert_array_equal(img[(large[1] + large[3]) // 2, large[2]],
                                  dog)
    assert (img[(large[1] + large[3]) // 2, large[2] - 1] == BACKGROUND).all()
    top = img[small[1], small[0] + 1:small[2]]  # less the corners
    assert (top == dog).all()  # solid, not dashed
    # no line joining the boxes' centres, no tags above the large box
    assert (img[33:38, 36:40] == BACKGROUND).all()
    assert (img[:large[1] - 2] == BACKGROUND).all()
    with open(osp.join(out, 'index.html')) as f:
        index = f.read()
    assert _rows(index) == {12: (0, '-'), 11: (1, '-'), 13: (2, '-')}
    assert 'drawn: det_boxes, det_labels)' in index


def test_store_without_display_fields_draws_no_boxes(work_dir):
    """A store whose meta records no ``display_fields`` (an earlier mmal):
    nothing is drawn from the summaries, and the index says so."""
    ids = sorted(PAIRS)
    _store(
        work_dir,
        ids, [_summary(PAIRS[i]) for i in ids],
        strategy=dict(type='bib'))
    vis.main([work_dir, '--cycle', '1', '--no-progress', '--min-size', '0'])
    out = osp.join(work_dir, 'cycle_1', 'visualization')
    for name in ['000_12.png', '001_11.png', '002_13.png']:
        assert (cv2.imread(osp.join(out, name)) == BACKGROUND).all()
    with open(osp.join(out, 'index.html')) as f:
        index = f.read()
    assert _rows(index) == {12: (0, '-'), 11: (1, '-'), 13: (2, '-')}
    assert 'no display_fields' in index
