"""Budgets in boxes: ``al.budget=dict(boxes=N)``.

The strategy ranks more images than the budget needs (its ``select`` is
asked for an image count estimated from the labeled set's boxes per image,
twice over, doubled until enough); the images are then taken in the
strategy's order until the boxes they carry reach ``N``, as an annotator
stops when the box budget is spent: the image that reaches ``N`` is taken
whole. The box counts come from the oracle (``box_count``; under
``GroundTruthOracle`` the pool's annotation file) after the pick. A
strategy whose order depends on the count asked for (DivProto's class
quotas) gives the order of that count.
"""
import copy
import math
from typing import Callable, Sequence, Tuple

import numpy as np


def take_until_boxes(counts: Sequence[int], boxes: int) -> int:
    """How many of the images, in order, are taken: the shortest prefix
    whose ``counts`` sum to at least ``boxes`` (all of them if none does).
    """
    total = np.cumsum(np.asarray(counts, np.int64))
    reached = np.flatnonzero(total >= boxes)
    return int(reached[0]) + 1 if reached.size else int(total.size)


def first_request(boxes: int, labeled_images: int, labeled_boxes: int,
                  available: int) -> int:
    """Images to ask the strategy for first: twice the images that carry
    ``boxes`` at the labeled set's boxes per image (1 when unknown)."""
    per_image = labeled_boxes / labeled_images if labeled_images else 1.0
    want = math.ceil(2 * boxes / max(per_image, 1e-6))
    return int(min(max(want, 1), available))


def select_by_boxes(select: Callable[[int, np.random.Generator],
                                     object], box_count: Callable[[int], int],
                    boxes: int, first: int, available: int,
                    rng: np.random.Generator) -> Tuple[object, dict]:
    """Run ``select(n, rng)`` (a checked ``Selection`` of ``n`` images)
    with growing ``n`` until its order carries ``boxes`` boxes or ``n`` is
    every available image; each try draws from a copy of ``rng``, so the
    result depends on the seed only. Returns the selection of the last try
    and the cut: ``dict(boxes=N, ranked=n, taken=k, revealed=boxes of the
    k images)``; the caller keeps the first ``k`` ids.
    """
    n = first
    while True:
        sel = select(n, copy.deepcopy(rng))
        counts = [box_count(int(i)) for i in sel.ids]
        k = take_until_boxes(counts, boxes)
        if sum(counts) >= boxes or n >= available:
            return sel, dict(
                boxes=int(boxes),
                ranked=int(n),
                taken=k,
                revealed=int(sum(counts[:k])))
        n = min(2 * n, available)
