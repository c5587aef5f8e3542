from typing import Dict, List, Mapping

import numpy as np

from mmal.registry import STRATEGIES
from .base_strategy import BaseStrategy, Selection, SelectionContext


@STRATEGIES.register_module(name=['BalancedRandom', 'b-random'])
class BalancedRandom(BaseStrategy):
    """b-random (BiB paper, supplement 3.2): class-balanced random picks.

    Repeatedly take the class present in the fewest images among the labeled
    set and the images picked so far (ties broken at random), then a random
    not-yet-picked pool image containing it. Image classes come from the
    ``img_labels`` field: image-level labels when the pool has them,
    otherwise the ground-truth classes revealed by ``GroundTruthOracle``
    (benchmark emulation). Once no remaining image contains any class, the
    rest of the budget is filled uniformly at random.
    """

    requires = ('img_labels', )

    def summarize(self, fields):
        return {'img_labels': np.unique(fields['img_labels']).astype(np.int64)}

    def select(self, summaries: Mapping[int, Mapping[str, np.ndarray]],
               budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        ids = np.sort(np.fromiter(summaries, dtype=np.int64))
        k = min(budget, ids.size)
        counts = np.asarray(context.class_image_counts, dtype=np.int64).copy()
        labels = [
            np.asarray(summaries[i]['img_labels'], np.int64) for i in ids
        ]
        # Per class, the pool images containing it in a random order; a
        # cursor skips the ones already picked through another class.
        members: Dict[int, List[int]] = {c: [] for c in range(len(counts))}
        for pos, labs in enumerate(labels):
            for c in labs:
                members[int(c)].append(pos)
        queues = {
            c: rng.permutation(np.array(m, np.int64))
            for c, m in members.items() if m
        }
        cursor = dict.fromkeys(queues, 0)
        picked = np.zeros(ids.size, dtype=bool)
        order: List[int] = []
        while len(order) < k and queues:
            live = np.array(sorted(queues), dtype=np.int64)
            low = live[counts[live] == counts[live].min()]
            c = int(low[rng.integers(low.size)]) if low.size > 1 else int(
                low[0])
            q = queues[c]
            while cursor[c] < q.size and picked[q[cursor[c]]]:
                cursor[c] += 1
            if cursor[c] == q.size:
                del queues[c]
                continue
            pos = int(q[cursor[c]])
            picked[pos] = True
            order.append(pos)
            counts[labels[pos]] += 1
        if len(order) < k:
            rest = np.flatnonzero(~picked)
            order.extend(rng.choice(rest, size=k - len(order), replace=False))
        return Selection(ids=ids[np.array(order, dtype=np.int64)])
