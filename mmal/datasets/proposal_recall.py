"""Recall of proposals against the ground truth of a COCO json."""
import json
from typing import Dict, Optional

import numpy as np
from mmdet.evaluation.functional import eval_recalls


def proposal_recall(proposals: Dict[int, dict],
                    ann_file: str,
                    iou: float = 0.5,
                    top_k: Optional[int] = None) -> float:
    """Fraction of the non-crowd ground-truth boxes of a COCO json that the
    proposals of their image recall at IoU >= ``iou``.

    The recall is mmdet's :func:`~mmdet.evaluation.functional.eval_recalls`
    (the one of its proposal metrics): ground-truth and proposal boxes are
    matched one to one, greedily by IoU.

    Args:
        proposals (dict): Image id -> ``{'bboxes': (N, 4)}``, e.g. from
            :func:`mmal.datasets.load_proposals`; the boxes in their stored
            order.
        ann_file (str): COCO annotation json.
        iou (float): IoU threshold. Defaults to 0.5.
        top_k (int, optional): Use only the first ``top_k`` proposals of
            each image.

    Returns:
        float: The recall; nan without ground-truth boxes.
    """
    with open(ann_file) as f:
        coco = json.load(f)
    gts: Dict[int, list] = {}
    for ann in coco.get('annotations', []):
        if not ann.get('iscrowd', 0):
            gts.setdefault(ann['image_id'], []).append(ann['bbox'])
    hit = total = 0
    for image_id, bboxes in gts.items():
        gt = np.asarray(bboxes, np.float64).reshape(-1, 4)
        gt[:, 2:] += gt[:, :2]
        entry = proposals.get(image_id)
        props = np.zeros((0, 4)) if entry is None else np.asarray(
            entry['bboxes'], np.float64).reshape(-1, 4)
        if top_k is not None:
            props = props[:top_k]
        # One image per call: eval_recalls stacks the per-image IoU
        # matrices with np.array, which numpy >= 1.24 refuses when their
        # shapes differ.
        recall = eval_recalls([gt], [props],
                              proposal_nums=[max(len(props), 1)],
                              iou_thrs=[iou],
                              logger='silent')
        hit += int(round(float(recall[0, 0]) * len(gt)))
        total += len(gt)
    return hit / total if total else float('nan')
