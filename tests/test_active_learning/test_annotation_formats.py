"""Annotation round trips without the tools' servers: a cycle's request in
Label Studio / CVAT / COCO form, and the tools' exports read back, with
files shaped as Label Studio 1.23.2 wrote them in the recorded round trip
(docs/annotation.md: its JSON export and its converter's COCO export) and as
CVAT's COCO 1.0 export (written by Datumaro) is documented."""
import copy
import json
import os

import numpy as np
import pytest

from mmal.active_learning import AnnotationRequired, ManualOracle, SplitError
from mmal.active_learning.pool import Pool
from mmal.active_learning.splits import CycleSplit, check_growth
from mmal.active_learning.summary_store import SummaryStore
from mmal.active_learning.work_dir import WorkDir
from mmal.testing.refusal_table import refused

# Category ids that are not 0..C-1, in another order than their names:
# answers must be matched by name.
CATS = [dict(id=7, name='car'), dict(id=3, name='person')]
IMAGES = [
    dict(id=11, file_name='train/a.png', width=200, height=100),
    dict(id=12, file_name='train/b.png', width=100, height=50),
    dict(id=13, file_name='train/c.png', width=80, height=80),
]
# the planted answer: image id -> (name, [x, y, w, h] pixels)
TRUTH = {
    11: [('car', [20.0, 10.0, 50.0, 40.0]),
         ('person', [100.0, 0.0, 30.0, 60.0])],
    12: [('person', [5.0, 5.0, 10.0, 20.0])],
    13: [('car', [0.0, 40.0, 80.0, 40.0])],
}
# Detections of the model that scored the pool (x1 y1 x2 y2, labels in
# the config's class order car=0, person=1) and the acquisition scores.
DETS = {
    11: ([[18.0, 12.0, 70.0, 52.0], [1.0, 1.0, 2.0, 2.0]], [0.9, 0.01], [0,
                                                                         1]),
    12: ([[4.0, 6.0, 16.0, 24.0]], [0.6], [1]),
    13: ([[0.0, 40.0, 81.5, 80.0]], [0.7], [0]),
}
PICKS, SCORES = [12, 11, 13], [0.95, 0.5, 0.25]


@pytest.fixture
def cycle(tmp_path):
    """A pool of 3 images (+1 never requested) and the folder of cycle 1
    after a least-confidence-like selection: selected.json and the summary
    store of cycle 0 with the model's detections."""
    images = IMAGES + [
        dict(id=14, file_name='train/d.png', width=10, height=10)
    ]
    anns = [
        dict(
            id=1,
            image_id=14,
            category_id=7,
            bbox=[0, 0, 5, 5],
            area=25,
            iscrowd=0)
    ]
    path = tmp_path / 'pool.json'
    path.write_text(
        json.dumps(dict(images=images, annotations=anns, categories=CATS)))
    pool = Pool(str(path))
    work = WorkDir(tmp_path / 'work')
    cdir = work.cycle(1)
    os.makedirs(cdir.path)
    with open(cdir.selected, 'w') as f:
        json.dump(
            dict(cycle=1, scored_by_cycle=0, image_ids=PICKS, scores=SCORES),
            f)
    store = SummaryStore(work.cycle(0).acquisition_dir)
    store.prepare(
        dict(
            strategy={},
            fields=['scores'],
            display_fields=['det_boxes', 'det_scores', 'det_labels']))
    writer = store.writer(0, expected=len(DETS))
    for i, (boxes, scores, labels) in DETS.items():
        writer.add(
            i,
            dict(
                score=np.float64(max(scores)),
                det_boxes=np.asarray(boxes, np.float32),
                det_scores=np.asarray(scores, np.float32),
                det_labels=np.asarray(labels, np.int64)))
    writer.flush()
    return pool, cdir, str(tmp_path)


def oracle_of(pool, root, export='LabelStudioFormat', **kw):
    return ManualOracle(
        pool,
        img_dir=root,
        export=dict(type=export),
        images=dict(kind='label_studio_local_files', document_root=root),
        **kw)


def ask(oracle, cdir):
    with pytest.raises(AnnotationRequired) as info:
        oracle.reveal(PICKS, cdir.path)
    return str(info.value)


# -- Label Studio -------------------------------------------------------
def ls_result(name, box, W, H, n):
    """One rectanglelabels result as Label Studio's editor saves it."""
    x, y, w, h = box
    return {
        'original_width': W,
        'original_height': H,
        'image_rotation': 0,
        'value': {
            'x': 100.0 * x / W,
            'y': 100.0 * y / H,
            'width': 100.0 * w / W,
            'height': 100.0 * h / H,
            'rotation': 0,
            'rectanglelabels': [name]
        },
        'id': f'r{n}Xk2',
        'from_name': 'label',
        'to_name': 'image',
        'type': 'rectanglelabels',
        'origin': 'manual'
    }


def ls_export(tasks, truth=TRUTH):
    """Label Studio's JSON export (``exportType=JSON``) of the imported
    tasks, one submitted annotation each."""
    out = []
    for n, task in enumerate(tasks):
        img = next(i for i in IMAGES
                   if i['id'] == task['data']['mmal_image_id'])
        result = [
            ls_result(name, box, img['width'], img['height'], k)
            for k, (name, box) in enumerate(truth[img['id']])
        ]
        out.append({
            'id':
            101 + n,
            'annotations': [{
                'id': 201 + n,
                'completed_by': 1,
                'result': result,
                'was_cancelled': False,
                'ground_truth': False,
                'created_at': '2026-12-01T16:40:02.123456Z',
                'updated_at': '2026-12-01T16:40:02.123456Z',
                'draft_created_at': None,
                'lead_time': 3.0,
                'prediction': {},
                'result_count': len(result),
                'unique_id': f'5a1e{n}',
                'import_id': None,
                'last_action': None,
                'bulk_created': False,
                'task': 101 + n,
                'project': 1,
                'updated_by': 1,
                'parent_prediction': None,
                'parent_annotation': None,
                'last_created_by': None
            }],
            'drafts': [],
            'predictions': [301 + n],
            'data':
            dict(task['data']),
            'meta': {},
            'created_at':
            '2026-12-01T16:39:58.000000Z',
            'updated_at':
            '2026-12-01T16:40:02.000000Z',
            'allow_skip':
            True,
            'inner_id':
            n + 1,
            'total_annotations':
            1,
            'cancelled_annotations':
            0,
            'total_predictions':
            1,
            'comment_count':
            0,
            'unresolved_comment_count':
            0,
            'last_comment_updated_at':
            None,
            'project':
            1,
            'updated_by':
            1,
            'comment_authors': []
        })
    return out


def by_image(got):
    """image id -> sorted (category id, rounded box)."""
    return {
        i:
        sorted((a['category_id'], [round(v, 6) for v in a['bbox']])
               for a in anns)
        for i, anns in got.items()
    }


def truth_by_image(ids=(11, 12, 13)):
    cat = {c['name']: c['id'] for c in CATS}
    return {
        i: sorted((cat[n], [round(v, 6) for v in b]) for n, b in TRUTH[i])
        for i in ids
    }


def test_label_studio_tasks_and_json_export(cycle):
    pool, cdir, root = cycle
    oracle = oracle_of(pool, root)
    msg = ask(oracle, cdir)
    assert 'label_studio_config.xml' in msg and 'annotated.json' in msg
    tasks = json.loads(open(cdir.file('label_studio_tasks.json')).read())
    config = open(cdir.file('label_studio_config.xml')).read()
    assert '<Label value="car"/>' in config and 'toName="image"' in config
    # pick order, local-files references, acquisition score as the
    # prediction score and in the data
    assert [t['data']['mmal_image_id'] for t in tasks] == PICKS
    assert tasks[0]['data']['image'] == '/data/local-files/?d=train/b.png'
    assert [t['predictions'][0]['score'] for t in tasks] == SCORES
    assert [t['data']['acquisition_score'] for t in tasks] == SCORES
    # image 11: the 0.01 detection is below min_score; the car box in %
    res = tasks[1]['predictions'][0]['result']
    assert len(res) == 1 and res[0]['type'] == 'rectanglelabels'
    assert res[0]['original_width'] == 200 and res[0]['score'] == \
        pytest.approx(0.9)
    assert res[0]['value']['rectanglelabels'] == ['car']
    assert [res[0]['value'][k] for k in ('x', 'y', 'width', 'height')
            ] == pytest.approx([9.0, 12.0, 26.0, 40.0])
    # image 13: the box sticking out of the image is clipped to 100 %
    v = tasks[2]['predictions'][0]['result'][0]['value']
    assert v['x'] + v['width'] == pytest.approx(100.0)

    export = ls_export(tasks)
    # a skipped (cancelled) annotation beside the submitted one is ignored
    skipped = copy.deepcopy(export[0]['annotations'][0])
    skipped.update(id=999, was_cancelled=True, result=[])
    export[0]['annotations'].insert(0, skipped)
    # an uploaded copy of the image: Label Studio's /data/upload/ name
    export[2]['data']['image'] = '/data/upload/1/3f2a1b2c-c.png'
    open(cdir.file('annotated.json'), 'w').write(json.dumps(export))
    got = oracle.reveal(PICKS, cdir.path)
    assert by_image(got) == truth_by_image()
    ids = [a['id'] for anns in got.values() for a in anns]
    assert len(set(ids)) == len(ids) and min(ids) > 1  # above the pool's
    assert oracle.labeled_of(PICKS, cdir.path).tolist() == PICKS


def test_label_studio_coco_export(cycle):
    pool, cdir, root = cycle
    oracle = oracle_of(pool, root)
    ask(oracle, cdir)
    # label-studio-converter's convert_to_coco: categories numbered from 0
    # in label order, its own image ids, file names relative to the export
    # folder, "ignore" and empty "segmentation"
    cats = [dict(id=0, name='person'), dict(id=1, name='car')]
    names = {
        11: 'images/a.png',
        12: '../../label-studio/media/upload/1/0a1b2c3d-b.png',
        13: '../../../toy/train/c.png'
    }
    images, anns = [], []
    for n, img in enumerate(IMAGES):
        images.append(
            dict(
                width=img['width'],
                height=img['height'],
                id=n,
                file_name=names[img['id']]))
        for name, box in TRUTH[img['id']]:
            anns.append(
                dict(
                    id=len(anns),
                    image_id=n,
                    category_id=0 if name == 'person' else 1,
                    segmentation=[],
                    bbox=box,
                    ignore=0,
                    iscrowd=0,
                    area=box[2] * box[3]))
    coco = dict(
        images=images,
        categories=cats,
        annotations=anns,
        info=dict(
            year=2026,
            version='1.0',
            description='',
            contributor='Label Studio',
            url='',
            date_created='2026-12-01 16:40:05.123456'))
    open(cdir.file('annotated.json'), 'w').write(json.dumps(coco))
    assert by_image(oracle.reveal(PICKS, cdir.path)) == truth_by_image()


def cvat_export(truth=TRUTH):
    """CVAT's "COCO 1.0" export, annotations/instances_default.json."""
    cats = [
        dict(id=1, name='person', supercategory=''),
        dict(id=2, name='car', supercategory='')
    ]
    images, anns = [], []
    for n, img in enumerate(IMAGES):
        images.append(
            dict(
                id=n + 1,
                width=img['width'],
                height=img['height'],
                file_name=img['file_name'].split('/')[-1],
                license=0,
                flickr_url='',
                coco_url='',
                date_captured=0))
        for name, box in truth[img['id']]:
            anns.append(
                dict(
                    id=len(anns) + 1,
                    image_id=n + 1,
                    category_id=1 if name == 'person' else 2,
                    segmentation=[],
                    area=box[2] * box[3],
                    bbox=box,
                    iscrowd=0,
                    attributes=dict(occluded=False, rotation=0.0)))
    return dict(
        licenses=[dict(name='', id=0, url='')],
        info=dict(
            contributor='',
            date_created='',
            description='',
            url='',
            version='',
            year=''),
        categories=cats,
        images=images,
        annotations=anns)


def test_cvat_coco_request_and_export(cycle):
    pool, cdir, root = cycle
    oracle = oracle_of(pool, root, export='CvatCocoFormat')
    ask(oracle, cdir)
    request = json.loads(open(cdir.file('cvat_coco_instances.json')).read())
    assert [i['file_name'] for i in request['images']
            ] == ['train/b.png', 'train/a.png', 'train/c.png']
    pre = [(a['image_id'], a['category_id'], round(a['score'], 5))
           for a in request['annotations']]
    assert pre == [(12, 3, 0.6), (11, 7, 0.9), (13, 7, 0.7)]
    assert request['annotations'][1]['bbox'] == [18.0, 12.0, 52.0, 40.0]
    open(cdir.file('annotated.json'), 'w').write(json.dumps(cvat_export()))
    assert by_image(oracle.reveal(PICKS, cdir.path)) == truth_by_image()


def test_plain_coco_request_has_no_pre_annotations(cycle):
    pool, cdir, root = cycle
    oracle = ManualOracle(pool, img_dir=root)
    assert oracle.pre_annotation_min_score is None
    ask(oracle, cdir)
    request = json.loads(open(cdir.to_annotate).read())
    assert request['annotations'] == [] and len(request['images']) == 3
    assert oracle_of(pool, root).pre_annotation_min_score == 0.3


# -- bad input -----------------------------------------------------------
def _refuse(oracle, cdir, answer, match, case):
    """The answer is refused and nothing is written."""
    open(cdir.file('annotated.json'), 'w').write(json.dumps(answer))
    before = sorted(os.listdir(cdir.path))
    with refused(SplitError, match, case):
        oracle.reveal(PICKS, cdir.path)
    assert sorted(os.listdir(cdir.path)) == before


def test_label_studio_export_bad_input(cycle):
    pool, cdir, root = cycle
    oracle = oracle_of(pool, root, partial='accept')
    ask(oracle, cdir)
    tasks = json.loads(open(cdir.file('label_studio_tasks.json')).read())
    good = ls_export(tasks)

    bad = copy.deepcopy(good)
    bad[0]['data']['image'] = '/data/local-files/?d=train/d.png'
    _refuse(oracle, cdir, bad, r'task 101 .*d.png.*not requested',
            'Label Studio export with an image not requested')
    bad = copy.deepcopy(good)
    bad[1]['annotations'][0]['result'][0]['value']['rectanglelabels'] = ['bus']
    _refuse(oracle, cdir, bad, r"task 102 .*result 0: unknown label 'bus'",
            'Label Studio export with an unknown label')
    bad = copy.deepcopy(good)
    bad[1]['annotations'][0]['result'][0]['value']['x'] = 90.0
    _refuse(oracle, cdir, bad, r'task 102 .*result 0: box .* not inside',
            'Label Studio export with a box outside the image')
    bad = copy.deepcopy(good)
    bad[0]['annotations'][0]['result'] = []
    _refuse(oracle, cdir, bad, r'task 101 .*no boxes \(an empty annotation',
            'Label Studio export with an empty annotation')
    bad = copy.deepcopy(good)
    bad[0]['annotations'].append(copy.deepcopy(bad[0]['annotations'][0]))
    _refuse(oracle, cdir, bad, r'task 101 .*2 submitted annotations',
            'Label Studio export with two annotations of a task')
    bad = copy.deepcopy(good)
    bad[2]['data']['image'] = bad[1]['data']['image']
    _refuse(oracle, cdir, bad, r'task 103 .*annotated twice',
            'Label Studio export with an image twice')
    bad = copy.deepcopy(good)
    res = bad[1]['annotations'][0]['result']
    res.append(copy.deepcopy(res[0]))
    _refuse(oracle, cdir, bad, r'result 2: the same .car. box as',
            'Label Studio export with a duplicate box')
    # waiting (the default) for a task nobody annotated yet
    partial = copy.deepcopy(good)
    partial[1]['annotations'] = []
    waiting = oracle_of(pool, root)
    open(cdir.file('annotated.json'), 'w').write(json.dumps(partial))
    with refused(SplitError, r'1 of the 3 requested images are not annot',
                 'Label Studio export of a partial campaign (wait)'):
        waiting.reveal(PICKS, cdir.path)
    assert not os.path.exists(cdir.file('accepted.json'))
    # ... or accepting the finished ones, recorded
    got = oracle.reveal(PICKS, cdir.path)
    assert sorted(got) == [12, 13]
    record = json.loads(open(cdir.file('accepted.json')).read())
    assert record['accepted'] == [12, 13] and record['unfinished'] == [11]
    assert oracle.labeled_of(PICKS, cdir.path).tolist() == [12, 13]
    # the empty image is accepted when asked for
    empty = copy.deepcopy(good)
    empty[0]['annotations'][0]['result'] = []
    open(cdir.file('annotated.json'), 'w').write(json.dumps(empty))
    got = oracle_of(
        pool, root, allow_empty_images=True).reveal(PICKS, cdir.path)
    assert got[12] == [] and len(got[11]) == 2


def test_coco_exports_bad_input(cycle):
    pool, cdir, root = cycle
    oracle = oracle_of(pool, root, export='CvatCocoFormat')
    ask(oracle, cdir)
    good = cvat_export()
    bad = copy.deepcopy(good)
    bad['images'][0]['file_name'] = 'd.png'
    _refuse(oracle, cdir, bad, r'images\[0\] \(d.png\): this image was not',
            'COCO export with an image not requested')
    bad = copy.deepcopy(good)
    bad['images'].pop(1)
    bad['annotations'] = [a for a in bad['annotations'] if a['image_id'] != 2]
    _refuse(oracle, cdir, bad, r"1 of the 3 requested .*\['train/b.png'\]",
            'COCO export missing a requested image')
    bad = copy.deepcopy(good)
    bad['categories'][0]['name'] = 'pedestrian'
    _refuse(oracle, cdir, bad, r"unknown label 'pedestrian'",
            'COCO export with an unknown label')
    bad = copy.deepcopy(good)
    bad['annotations'][0]['bbox'] = [190.0, 10.0, 50.0, 40.0]
    _refuse(oracle, cdir, bad, r'annotations\[0\] \(image a.png\): box',
            'COCO export with a box outside the image')
    bad = copy.deepcopy(good)
    bad['annotations'][0]['bbox'][2] = 0
    _refuse(oracle, cdir, bad, r'annotations\[0\] .*empty box',
            'COCO export with an empty box')
    bad = copy.deepcopy(good)
    bad['images'].append(dict(bad['images'][0], id=9))
    _refuse(oracle, cdir, bad, r'images\[3\] \(a.png\): image train/a.png is'
            ' annotated twice', 'COCO export with an image twice')
    bad = copy.deepcopy(good)
    bad['annotations'].append(dict(bad['annotations'][0], id=99))
    _refuse(oracle, cdir, bad, r'annotations\[4\] .*duplicate annotation',
            'COCO export with a duplicate box')
    bad = copy.deepcopy(good)
    bad['images'][0]['width'] = 400
    _refuse(oracle, cdir, bad, r'saw the image as 400x100, the pool says',
            'COCO export of a resized image')


def test_bad_export_settings(cycle):
    pool, _, root = cycle
    with refused(SplitError, r"al.oracle.export.type 'Labelbox' is not",
                 'al.oracle.export.type not registered'):
        ManualOracle(pool, export=dict(type='Labelbox'))
    with refused(SplitError, r"al.oracle.partial 'some'",
                 'al.oracle.partial not wait/accept'):
        ManualOracle(pool, partial='some')
    with refused(SplitError, r"kind 'url' needs a prefix",
                 'al.oracle.images url without prefix'):
        ManualOracle(pool, images=dict(kind='url'))


def test_growth_with_a_partial_campaign():
    prev = CycleSplit(np.array([1, 2]), np.array([3, 4, 5, 6]), {1: [], 2: []})
    sel = np.array([5, 3])
    cur = CycleSplit(np.array([1, 2, 3]), np.array([4, 5, 6]), {})
    check_growth(prev, cur, sel, 2, 'here', labeled=np.array([3]))
    with pytest.raises(SplitError, match='plus the selected'):
        check_growth(prev, cur, sel, 2, 'here')
    with pytest.raises(SplitError, match='not selected'):
        check_growth(prev, cur, sel, 2, 'here', labeled=np.array([4]))
