"""Core-set (greedy k-center, Sener and Savarese 2018, as run in the BiB
paper's supplement Eq. 7) and core-set-ent (Eq. 10: distances weighted by
the candidate's entropy-max). The selection is
:func:`mmal.strategies.functional.greedy_k_center`."""
from typing import Optional

import numpy as np

from mmal.registry import STRATEGIES
from mmal.utils.choices import check_one_of
from .base_strategy import BaseStrategy, Selection, SelectionContext
from .functional import distribution_entropy, greedy_k_center
from .functional.k_center import EXACT

DEVICES = ('auto', 'cpu', 'cuda')


@STRATEGIES.register_module(name=['CoreSet', 'core-set'])
class CoreSet(BaseStrategy):
    """Greedy k-center on pooled image features (``img_feat``), with the
    labeled images as initial centres (a random first pick when there are
    none). Features are stored per image in fp16.

    Args:
        device (str): Where distances are computed: ``'auto'`` (mmengine's
            device: the GPU of rank 0 when there is one), ``'cpu'`` or
            ``'cuda'``. Defaults to 'auto'.
        exact (str): ``'pruned'``: greedy k-center with triangle-inequality
            pruning (the same picks, fewer distances, on the CPU;
            :func:`~mmal.strategies.functional.greedy_k_center_pruned`) or
            the unpruned lazy ``'reference'``. Defaults to 'pruned'.
    """

    requires = ('img_feat', )
    uses_labeled = True

    def __init__(self, device: str = 'auto', exact: str = 'pruned'):
        check_one_of('device', device, DEVICES)
        check_one_of('exact', exact, EXACT)
        self.device = device
        self.exact = exact

    def summarize(self, fields):
        return {
            'img_feat':
            np.asarray(fields['img_feat'],
                       dtype=np.float32).reshape(-1).astype(np.float16)
        }

    def weights(self, summaries) -> Optional[np.ndarray]:
        """(N,) weights of the candidates' distances; None: unweighted."""
        return None

    def select(self, summaries, budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        labeled = self.labeled_summaries(context, 'img_feat')
        x = summaries.stack('img_feat', np.float32, device=self.device)
        centers = labeled.stack('img_feat', np.float16) if len(labeled) \
            else np.zeros((0, x.shape[1]), np.float16)
        stats: dict = {}
        rows, values = greedy_k_center(
            x,
            budget,
            rng,
            centers,
            self.weights(summaries),
            exact=self.exact,
            stats=stats)
        return Selection(ids=summaries.ids[rows], scores=values, extra=stats)


@STRATEGIES.register_module(name=['CoreSetEnt', 'core-set-ent'])
class CoreSetEnt(CoreSet):
    """Core-set whose distances are multiplied by the candidate's
    entropy-max (Eq. 10), so uncertain images far from the labeled set come
    first."""

    requires = ('img_feat', 'cls_probs')

    def summarize(self, fields):
        out = super().summarize(fields)
        h = distribution_entropy(fields['cls_probs'])
        out['entropy_max'] = np.float64(h.max() if h.size else 0.0)
        return out

    def weights(self, summaries) -> np.ndarray:
        return summaries.column('entropy_max')
