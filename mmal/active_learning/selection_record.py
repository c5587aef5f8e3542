"""The content of ``selected.json``."""
import time
from typing import Dict, Optional

import numpy as np

from mmal.strategies import BaseStrategy, Selection


def _jsonable(obj):
    """``obj`` with numpy scalars / arrays turned into json types."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def selection_record(selection: Selection,
                     strategy: BaseStrategy,
                     seed: int,
                     cycle: int,
                     checkpoint: Optional[str],
                     sha: Optional[str],
                     budget: int,
                     scored: int,
                     timings: Dict[str, float],
                     box_budget: Optional[dict] = None) -> dict:
    """The content of ``selected.json``; ``budget`` is the image count
    selected for; a box budget adds its cut (``box_budget``: boxes, images
    ranked, images taken, boxes revealed)."""
    scores = selection.scores
    out = dict(
        cycle=cycle + 1,
        scored_by_cycle=cycle,
        image_ids=[int(i) for i in selection.ids],
        scores=None if scores is None else [float(s) for s in scores],
        strategy=strategy.describe(),
        details=_jsonable(selection.extra),
        seed=seed,
        budget=budget,
        num_scored=scored,
        checkpoint=checkpoint,
        checkpoint_sha256=sha,
        time=time.strftime('%Y-%m-%dT%H:%M:%S%z'),
        timings=timings)
    if box_budget is not None:
        out['box_budget'] = box_budget
    return out
