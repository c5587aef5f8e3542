"""MC-dropout: the detector run T more times with dropout on (Gal and
Ghahramani, ICML 2016, for detection as in the benchmarks of Haussmann et
al. 2020 and Schmidt et al. 2020); each detection is matched across the
passes and the images are ranked by the uncertainty of the averaged class
distributions."""
from typing import Optional, Sequence

import numpy as np

from mmal.registry import STRATEGIES
from mmal.utils.choices import check_one_of
from .base_strategy import Selection
from .functional import distribution_entropy
from .ranking_strategy import RankingStrategy

SCORES = ('entropy', 'mutual_information')
AGGREGATES = ('mean', 'max', 'sum')


@STRATEGIES.register_module(name=['MCDropout', 'mc-dropout'])
class MCDropout(RankingStrategy):
    """Top-b images by MC-dropout uncertainty.

    The pool pass runs the detector once as usual, then ``passes`` times
    with dropout on (:class:`mmal.models.probes.DropoutPass`). In each
    stochastic pass, every detection of the deterministic pass takes the
    class distribution of the detection that overlaps it best; with IoU
    below ``iou_thr`` (or none) the pass saw background there (one-hot
    background). Per detection, over the T distributions p_t:

    * ``'entropy'``: H(mean_t p_t) (predictive entropy);
    * ``'mutual_information'``: H(mean_t p_t) - mean_t H(p_t) (BALD).

    The image scores the ``aggregate`` of its detections (0 with none).

    Args:
        passes (int): T. Defaults to 10.
        p (float): Drop probability. Defaults to 0.2.
        after (Sequence[str], optional): Modules whose outputs are dropped
            (see ``DropoutPass``); None: the model's ``nn.Dropout``
            modules. Defaults to None.
        score (str): ``'entropy'`` or ``'mutual_information'``. Defaults to
            'entropy'.
        aggregate (str): ``'mean'``, ``'max'`` or ``'sum'`` over the
            detections. Defaults to 'mean'.
        iou_thr (float): Matching threshold. Defaults to 0.5.
        seed (int): Seed of the dropout masks. Defaults to 0.
    """

    requires = ('pass_ious', 'pass_cls_probs')

    def __init__(self,
                 passes: int = 10,
                 p: float = 0.2,
                 after: Optional[Sequence[str]] = None,
                 score: str = 'entropy',
                 aggregate: str = 'mean',
                 iou_thr: float = 0.5,
                 seed: int = 0):
        check_one_of('score', score, SCORES)
        check_one_of('aggregate', aggregate, AGGREGATES)
        if int(passes) < 1:
            raise ValueError(f'passes must be >= 1, got {passes}')
        self.passes = int(passes)
        self.score = score
        self.aggregate = aggregate
        self.iou_thr = float(iou_thr)
        self.extra_passes = (dict(
            type='DropoutPass',
            times=self.passes,
            p=p,
            after=None if after is None else list(after),
            seed=seed), )

    def summarize(self, fields):
        probs = np.asarray(fields['pass_cls_probs'], np.float64)
        ious = np.asarray(fields['pass_ious'], np.float64)
        if probs.ndim != 3 or probs.shape[1] == 0:
            return {'score': np.float64(0.0)}
        probs = probs.copy()
        unmatched = ious < self.iou_thr
        probs[unmatched] = 0
        probs[..., -1][unmatched] = 1
        mean = probs.mean(0)  # (N, C + 1)
        h = distribution_entropy(mean)
        if self.score == 'mutual_information':
            h = h - np.stack([distribution_entropy(q) for q in probs]).mean(0)
            h = np.maximum(h, 0)
        value = dict(mean=h.mean, max=h.max, sum=h.sum)[self.aggregate]()
        return {'score': np.float64(value)}

    def select(self, summaries, budget, context, rng) -> Selection:
        sel = super().select(summaries, budget, context, rng)
        sel.extra = dict(forward_passes_per_image=1 + self.passes)
        return sel
