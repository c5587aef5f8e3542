"""What the selection knew about the images it picked: the acquisition
scores (``selected.json``) and the current model's detections, where the
strategy recorded them in the pool pass's summary store.

Detections are the summary fields ``det_boxes`` / ``det_scores`` /
``det_labels`` (:data:`mmal.strategies.base_strategy.DISPLAY_FIELDS`) of a
strategy that declares them in ``display_fields`` (the store's
``meta.json`` records which); other strategies reduce the detections to
their score and keep no boxes, so their requests carry the score only.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..summary_store import SummaryStore
from ..work_dir import CycleDir
from .base_format import Detection

#: The summary fields of the detections shown to annotators.
DETECTION_FIELDS = ('det_boxes', 'det_scores', 'det_labels')


def selection_scores(request_dir: str) -> Tuple[Dict[int, float], dict]:
    """Image id -> acquisition score of the cycle's ``selected.json`` (empty
    without scores), and the record itself (empty without the file)."""
    path = CycleDir(request_dir).selected
    if not osp.exists(path):
        return {}, {}
    with open(path) as f:
        record = json.load(f)
    ids, scores = record.get('image_ids') or [], record.get('scores')
    if not scores:
        return {}, record
    return {int(i): float(s) for i, s in zip(ids, scores)}, record


def recorded_detections(request_dir: str, record: dict, ids: Sequence[int],
                        classes: Sequence[str],
                        min_score: float) -> Optional[Dict[int, list]]:
    """Image id -> :class:`Detection` list of the model that scored the
    pool, from its summary store; None when the store does not hold them.
    """
    scored_by = record.get('scored_by_cycle')
    if scored_by is None:
        return None
    store = SummaryStore(
        CycleDir(request_dir).work_dir.cycle(int(scored_by)).acquisition_dir)
    try:
        meta = store.meta
        declared = (meta or {}).get('display_fields') or []
        if not all(k in declared for k in DETECTION_FIELDS):
            return None
        have = set(store.scored_ids().tolist())
        want = [int(i) for i in ids if int(i) in have]
        summaries = store.read(want)
    except (OSError, ValueError):
        return None
    out: Dict[int, List[Detection]] = {}
    for i in want:
        s = summaries[i]
        boxes = np.asarray(s['det_boxes'], np.float64).reshape(-1, 4)
        scores = np.asarray(s['det_scores'], np.float64).reshape(-1)
        labels = np.asarray(s['det_labels'], np.int64).reshape(-1)
        out[i] = [
            Detection(classes[int(c)], (float(
                b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])),
                      float(p)) for b, p, c in zip(boxes, scores, labels)
            if p >= min_score and 0 <= c < len(classes)
        ]
    summaries.release()
    return out
