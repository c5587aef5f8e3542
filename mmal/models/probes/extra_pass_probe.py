"""The probe of strategies with extra passes: the detector's own pass, the
declared extra passes, and the matching that turns them into the
``pass_*`` fields."""
from typing import Dict, List, Sequence

import numpy as np
import torch
from mmdet.structures.bbox import bbox_overlaps

from .extra_pass import PASS_FIELDS, BaseExtraPass


def match_pass(ref_boxes: np.ndarray, dets: Dict[str, np.ndarray],
               num_classes: int):
    """Match one pass's detections to the reference detections.

    Args:
        ref_boxes (np.ndarray): (N, 4) reference boxes.
        dets (dict): The pass's ``bboxes`` (M, 4), ``scores`` (M,),
            ``labels`` (M,), ``cls_probs`` (M, C + 1).
        num_classes (int): C.

    Returns:
        tuple: (N,) IoU of each reference box's best-overlapping detection
        (any class; 0 when M = 0), (N, C + 1) its class distribution
        (background one-hot when M = 0) and (C,) the pass's highest score
        per class (0: none).
    """
    n = len(ref_boxes)
    boxes = np.asarray(dets['bboxes'], np.float32).reshape(-1, 4)
    class_scores = np.zeros(num_classes, np.float32)
    labels = np.asarray(dets['labels'], np.int64).reshape(-1)
    scores = np.asarray(dets['scores'], np.float32).reshape(-1)
    if len(labels):
        np.maximum.at(class_scores, labels, scores)
    if len(boxes) == 0 or n == 0:
        probs = np.zeros((n, num_classes + 1), np.float32)
        probs[:, -1] = 1
        return np.zeros(n, np.float32), probs, class_scores
    iou = bbox_overlaps(
        torch.from_numpy(np.asarray(ref_boxes, np.float32)),
        torch.from_numpy(boxes)).numpy()
    best = iou.argmax(axis=1)
    return (iou[np.arange(n), best].astype(np.float32),
            np.asarray(dets['cls_probs'], np.float32)[best], class_scores)


class ExtraPassProbe:
    """Wraps a probe: runs it, then every extra pass, and adds the
    ``pass_*`` fields (the passes in declaration order, each ``times``
    rows). Used as a context manager, like the probe.

    Args:
        probe (BaseProbe): The detector's adapter, built with
            :data:`PASS_NEEDS` among its fields.
        passes (Sequence[BaseExtraPass]): The built passes.
        fields (Sequence[str]): The fields to return.
    """

    def __init__(self, probe, passes: Sequence[BaseExtraPass],
                 fields: Sequence[str]):
        self.probe = probe
        self.passes = list(passes)
        self.fields = tuple(fields)

    @property
    def model(self):
        return self.probe.model

    @property
    def num_passes(self) -> int:
        """Extra forward passes per batch (P)."""
        return sum(p.times for p in self.passes)

    def __enter__(self):
        self.probe.__enter__()
        return self

    def __exit__(self, *exc):
        return self.probe.__exit__(*exc)

    @torch.no_grad()
    def run(self, batch) -> List[tuple]:
        ref = self.probe.run(batch)
        views: List[List[dict]] = [[] for _ in ref]
        for p in self.passes:
            for one in p.run(self.probe, batch):
                for b, dets in enumerate(one):
                    views[b].append(dets)
        out = []
        for (sample, fields), dets in zip(ref, views):
            c = fields['cls_probs'].shape[1] - 1
            matched = [match_pass(fields['bboxes'], d, c) for d in dets]
            n, p = len(fields['bboxes']), len(matched)
            extra = dict(
                pass_ious=np.stack([m[0] for m in matched]).reshape(p, n),
                pass_cls_probs=np.stack([m[1] for m in matched
                                         ]).reshape(p, n, c + 1),
                pass_class_scores=np.stack([m[2]
                                            for m in matched]).reshape(p, c))
            keep = {k: v for k, v in fields.items() if k in self.fields}
            keep.update({k: extra[k] for k in PASS_FIELDS if k in self.fields})
            out.append((sample, keep))
        return out
