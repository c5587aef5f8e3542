from typing import Dict, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from mmal.active_learning.summary_store import Summaries
from mmal.strategies import (Selection, SelectionContext, StrategyError,
                             build_strategy, check_selection)


def select_images(
        strategy_cfg: dict,
        detections: Mapping[int, Mapping[str, np.ndarray]],
        budget: int,
        labeled: Optional[Union[Iterable[int], Mapping[int,
                                                       np.ndarray]]] = None,
        seed: int = 0,
        num_classes: Optional[int] = None,
        cycle: int = 0,
        labeled_detections: Optional[Mapping[int, Mapping[str,
                                                          np.ndarray]]] = None,
        history: Sequence[Mapping] = (),
        train_state: Optional[Mapping[str, np.ndarray]] = None) -> Selection:
    """Select images in memory, without a detector or files.

    Args:
        strategy_cfg (dict): ``dict(type=..., **hyper_parameters)``.
        detections (Mapping[int, Mapping[str, np.ndarray]]): Image id -> the
            fields the strategy requires (see ``mmal.strategies.FIELDS``).
        budget (int): Images to select.
        labeled (Iterable[int] | Mapping[int, np.ndarray], optional): The
            labeled images: their ids, or id -> box labels in ``[0, C)``
            (which gives the strategy per-class counts). Defaults to none.
        seed (int): Seed of the ``numpy.random.Generator``. Defaults to 0.
        num_classes (int, optional): C. Defaults to one more than the
            largest label seen in ``detections`` and ``labeled``.
        cycle (int): Cycle index passed to the strategy. Defaults to 0.
        labeled_detections (Mapping, optional): Image id -> fields of the
            labeled images, for strategies that use them (``uses_labeled``,
            e.g. core-set's initial centres). Defaults to None.
        history (Sequence[Mapping]): The ``extra`` of earlier selections,
            oldest first, for strategies that use them (see
            ``BaseStrategy.begin_cycle``). Defaults to none.
        train_state (Mapping, optional): What training hooks saved with the
            checkpoint, for strategies that declare ``train_state`` (e.g.
            PPAL's ``class_quality``, (C,)). Defaults to None.

    Returns:
        Selection: ``ids`` (pick order) and, when the strategy scores
        images, ``scores``.
    """
    strategy = build_strategy(strategy_cfg)
    strategy.begin_cycle(cycle, history)

    def summarize(images):
        out: Dict[int, dict] = {}
        for img_id, fields in images.items():
            missing = [f for f in strategy.requires if f not in fields]
            if missing:
                raise StrategyError(f'image {img_id}: strategy '
                                    f'{strategy_cfg["type"]} needs fields '
                                    f'{missing}, got {sorted(fields)}')
            out[int(img_id)] = strategy.summarize(
                {f: np.asarray(fields[f])
                 for f in strategy.requires})
        return Summaries.from_dict(out)

    summaries = summarize(detections)
    labeled = {} if labeled is None else labeled
    if not isinstance(labeled, Mapping):
        labeled = {int(i): np.zeros(0, np.int64) for i in labeled}
    labels = [np.asarray(v, np.int64).reshape(-1) for v in labeled.values()]
    if num_classes is None:
        seen = [a.max() for a in labels if a.size] + [
            np.max(f[k]) for f in detections.values()
            for k in ('labels', 'img_labels') if k in f and np.size(f[k])
        ] + [
            np.shape(f['cls_probs'])[-1] - 2
            for f in detections.values() if 'cls_probs' in f
        ]
        num_classes = int(max(seen)) + 1 if seen else 1
    boxes = np.zeros(num_classes, np.int64)
    images = np.zeros(num_classes, np.int64)
    for a in labels:
        np.add.at(boxes, a, 1)
        images[np.unique(a)] += 1
    context = SelectionContext(
        labeled_ids=np.array(sorted(int(i) for i in labeled), np.int64),
        class_counts=boxes,
        class_image_counts=images,
        num_classes=num_classes,
        cycle=cycle,
        labeled_summaries=(summarize(labeled_detections)
                           if strategy.uses_labeled
                           and labeled_detections is not None else None),
        train_state=({
            k: np.asarray(v)
            for k, v in train_state.items()
        } if train_state is not None else None))
    pool = np.array(sorted(summaries.ids), dtype=np.int64)
    selection = strategy.select(summaries, budget, context,
                                np.random.default_rng(seed))
    return check_selection(strategy, selection, pool, budget)
