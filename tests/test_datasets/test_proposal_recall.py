import json
import math

import numpy as np

from mmal.datasets import proposal_recall


def _ann_file(tmp_path, annotations, num_images=4):
    path = tmp_path / 'ann.json'
    images = [
        dict(id=i, file_name=f'{i}.png', width=100, height=100)
        for i in range(1, num_images + 1)
    ]
    anns = [
        dict(
            id=k + 1,
            image_id=image_id,
            bbox=bbox,
            iscrowd=crowd,
            category_id=1)
        for k, (image_id, bbox, crowd) in enumerate(annotations)
    ]
    path.write_text(json.dumps(dict(images=images, annotations=anns)))
    return str(path)


def _props(boxes):
    return {
        i: dict(bboxes=np.array(b, np.float32).reshape(-1, 4))
        for i, b in boxes.items()
    }


def test_recall_planted(tmp_path):
    ann = _ann_file(
        tmp_path,
        [
            (1, [0, 0, 10, 10], 0),  # A
            (1, [20, 20, 10, 10], 0),  # B
            (1, [50, 50, 10, 10], 1),  # crowd: not counted
            (2, [0, 0, 20, 20], 0),  # D
            (3, [5, 5, 10, 10], 0),  # E: its image has no proposals
        ])
    props = _props({
        1: [[0, 0, 10, 10], [20, 20, 30, 28], [50, 50, 60, 60]],  # 1, 0.8
        2: [[0, 0, 20, 12], [0, 0, 20, 20]],  # 0.6, then 1
        4: [[0, 0, 5, 5]],  # an image without ground truth
    })
    assert proposal_recall(props, ann, 0.5) == 3 / 4
    assert proposal_recall(props, ann, 0.7) == 3 / 4
    assert proposal_recall(props, ann, 0.9) == 2 / 4
    assert proposal_recall(props, ann, 0.5, top_k=1) == 2 / 4
    assert proposal_recall(props, ann, 0.7, top_k=1) == 1 / 4
    assert proposal_recall({}, ann) == 0


def test_recall_matches_one_to_one(tmp_path):
    # Two overlapping objects, one proposal covering both: mmdet's recall
    # matches each proposal to one object only.
    ann = _ann_file(tmp_path, [(1, [0, 0, 10, 10], 0), (1, [0, 0, 10, 11], 0)],
                    1)
    one = _props({1: [[0, 0, 10, 10.5]]})
    assert proposal_recall(one, ann, 0.5) == 1 / 2
    two = _props({1: [[0, 0, 10, 10.5], [0, 0, 10, 11]]})
    assert proposal_recall(two, ann, 0.5) == 1


def test_recall_without_ground_truth_is_nan(tmp_path):
    ann = _ann_file(tmp_path, [(1, [0, 0, 10, 10], 1)], 1)
    assert math.isnan(proposal_recall(_props({1: [[0, 0, 10, 10]]}), ann))
