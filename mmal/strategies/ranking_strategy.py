"""The base of every "score each image, take the best b" strategy."""
from typing import Mapping

import numpy as np

from .base_strategy import BaseStrategy, Selection, SelectionContext
from .functional import top_k


class RankingStrategy(BaseStrategy):
    """A strategy that scores every image and takes the ``budget`` best:
    ties broken at random with ``rng``, non-finite scores last (as baal's
    heuristics share one ranking). Subclasses write the score to the
    summary field :attr:`score_field` in :meth:`summarize`, or override
    :meth:`scores`."""

    #: The summary field holding each image's score.
    score_field: str = 'score'

    def scores(self, summaries: Mapping, context: SelectionContext) -> \
            np.ndarray:
        """(N,) acquisition scores of the images of ``summaries``, in its
        order."""
        return summaries.column(self.score_field)

    def select(self, summaries, budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        ids, scores = top_k(summaries.ids, self.scores(summaries, context),
                            budget, rng)
        return Selection(ids=ids, scores=scores)
