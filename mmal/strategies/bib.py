"""BiB, "box-in-box" acquisition for weakly-supervised detectors (Vo et al.,
ECCV 2022), and its Table 8 variants U(BiB) and U+BiB.

A weak detector often boxes a part of an object (the small box) and, in the
same image, the object or a group of objects (the large box) for the same
class. Such a box-in-box pair flags a confusion that full annotation of
the image resolves. BiB finds the pairs of every pool image inside
``summarize`` and then picks images whose pairs are diverse: k-means++
seeding over pair features, where choosing a pair makes every pair of its
image a centre.

Pair features are concatenations of the two boxes' instance features (the
fc7 RoI features of MIST: 2 x 4096 = 8192-d), stored in fp16 in the
summary store. ``select`` never holds all of them in memory: it walks the
store's pair matrix in blocks of ``block_size`` rows, once per pick,
keeping one vector of nearest-centre distances
(:func:`mmal.strategies.functional.kmeanspp_images`; see
``docs/strategies/bib.md`` and ``docs/benchmarks.md``).
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from mmal.registry import STRATEGIES
from .base_strategy import (BaseStrategy, Selection, SelectionContext,
                            StrategyError)
from .functional import box_in_box_pairs, kmeanspp_images
from .functional.box_in_box import PAIRING
from .functional.kmeanspp import SAMPLING

FILL_UP = ('random', )
DEVICES = ('auto', 'cpu', 'cuda')


@STRATEGIES.register_module(name=['BiB', 'bib'])
class BiB(BaseStrategy):
    """Box-in-box acquisition; see the module docstring and
    ``docs/strategies/bib.md``.

    Args:
        mu (float): Minimum area ratio of a pair's large box to its small
            box. Defaults to 3.
        delta (float): Minimum fraction of the small box inside the large
            box. Defaults to 0.8.
        score_thr (float): Only detections scored above it enter pairs.
            Defaults to 0.1.
        use_image_labels (bool): Only detections of the image's image-level
            classes enter pairs. Defaults to True.
        pairing (str): ``'all'`` qualifying large boxes of a small box (the
            paper's Eq. 1) or only the ``'first'`` (highest-scored; the
            official code). Defaults to 'first'.
        sampling (str): ``'squared'`` (official code, k-means++) or
            ``'linear'`` (paper text) distance weights. Defaults to
            'squared'.
        local_trials (bool | int): Greedy k-means++: draw ``2 + ln(budget)``
            candidates per pick (or this many when an int) and keep the one
            that lowers the potential most (official code). False: one
            draw per pick. Defaults to True.
        fill_up (str): How to complete the budget when fewer images than
            the budget have pairs: ``'random'`` images of the rest of the
            pool. Defaults to 'random'.
        projection_dim (int, optional): Project pair features to this size
            with a fixed Gaussian random projection (seeded with
            ``projection_seed``) before they are stored. Defaults to None
            (off).
        projection_seed (int): Seed of the projection matrix. Defaults to 0.
        block_size (int): Pair rows per block in ``select``. Defaults to
            8192.
        device (str): Where distances are computed: ``'auto'`` (the GPU of
            rank 0 when there is one), ``'cpu'`` or ``'cuda'``.
    """

    uses_labeled = True
    display_fields = ('det_boxes', 'det_scores', 'det_labels', 'pair_boxes',
                      'pair_labels')

    def __init__(self,
                 mu: float = 3.0,
                 delta: float = 0.8,
                 score_thr: float = 0.1,
                 use_image_labels: bool = True,
                 pairing: str = 'first',
                 sampling: str = 'squared',
                 local_trials=True,
                 fill_up: str = 'random',
                 projection_dim: Optional[int] = None,
                 projection_seed: int = 0,
                 block_size: int = 8192,
                 device: str = 'auto'):
        if pairing not in PAIRING:
            raise ValueError(f'pairing must be one of {PAIRING}, got '
                             f'{pairing!r}')
        if sampling not in SAMPLING:
            raise ValueError(f'sampling must be one of {SAMPLING}, got '
                             f'{sampling!r}')
        if fill_up not in FILL_UP:
            raise ValueError(f'fill_up must be one of {FILL_UP}, got '
                             f'{fill_up!r}')
        if not mu >= 1:
            raise ValueError(f'mu must be >= 1, got {mu}')
        if not 0 < delta <= 1:
            raise ValueError(f'delta must be in (0, 1], got {delta}')
        if not 0 <= score_thr < 1:
            raise ValueError(f'score_thr must be in [0, 1), got {score_thr}')
        if not isinstance(local_trials, bool) and not (isinstance(
                local_trials, int) and local_trials >= 1):
            raise ValueError('local_trials must be True, False or an int '
                             f'>= 1, got {local_trials!r}')
        if projection_dim is not None and not (isinstance(projection_dim, int)
                                               and projection_dim > 0):
            raise ValueError('projection_dim must be a positive int or None, '
                             f'got {projection_dim!r}')
        if device not in DEVICES:
            raise ValueError(f'device must be one of {DEVICES}, got '
                             f'{device!r}')
        self.mu, self.delta, self.score_thr = mu, delta, score_thr
        self.use_image_labels = use_image_labels
        self.pairing, self.sampling = pairing, sampling
        self.local_trials = local_trials
        self.fill_up = fill_up
        self.projection_dim = projection_dim
        self.projection_seed = projection_seed
        self.block_size = block_size
        self.device = device
        self._projection: Optional[np.ndarray] = None

    @property
    def requires(self) -> Tuple[str, ...]:
        """The detections, and the image-level labels when
        ``use_image_labels``."""
        return ('bboxes', 'scores', 'labels', 'feats') + (
            ('img_labels', ) if self.use_image_labels else ())

    # -- per image ----------------------------------------------------------
    def candidate_pairs(self, fields):
        """The detections that may pair (scored above ``score_thr``, of an
        image-level class) and their pairs.

        Returns:
            tuple: ``boxes`` (K, 4), ``scores`` (K,), ``labels`` (K,),
            ``keep`` (N,) the mask of those detections among all, and the
            ``small`` / ``large`` (P,) indices into the K detections.
        """
        boxes = np.asarray(fields['bboxes'], np.float32).reshape(-1, 4)
        scores = np.asarray(fields['scores'], np.float32).reshape(-1)
        labels = np.asarray(fields['labels'], np.int64).reshape(-1)
        keep = scores > self.score_thr
        if self.use_image_labels:
            keep &= np.isin(labels, np.asarray(fields['img_labels']))
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        small, large = box_in_box_pairs(boxes, labels, self.mu, self.delta,
                                        self.pairing)
        return boxes, scores, labels, keep, small, large

    def summarize(self, fields) -> Dict[str, np.ndarray]:
        """The image's pairs: ``pair_feats`` (P, 2D or projection_dim)
        fp16, ``pair_boxes`` (P, 8) small then large box, ``pair_labels``
        (P,), and the detections that could pair (``det_boxes``,
        ``det_scores``, ``det_labels``), for visualisation."""
        boxes, scores, labels, keep, small, large = self.candidate_pairs(
            fields)
        feats = np.asarray(fields['feats'], np.float32)
        feats = feats.reshape(len(keep), -1) if len(keep) else \
            feats.reshape(0, feats.shape[-1] if feats.ndim == 2 else 0)
        feats = feats[keep]
        pair_feats = np.concatenate([feats[small], feats[large]], axis=1)
        if self.projection_dim is not None:
            pair_feats = pair_feats @ self._project(pair_feats.shape[1])
        return dict(
            pair_feats=pair_feats.astype(np.float16),
            pair_boxes=np.concatenate([boxes[small], boxes[large]], axis=1),
            pair_labels=labels[small],
            det_boxes=boxes,
            det_scores=scores,
            det_labels=labels)

    def _project(self, dim: int) -> np.ndarray:
        if self._projection is None or self._projection.shape[0] != dim:
            rng = np.random.default_rng(self.projection_seed)
            self._projection = (rng.standard_normal(
                (dim, self.projection_dim)) /
                                math.sqrt(self.projection_dim)).astype(
                                    np.float32)
        return self._projection

    # -- selection ------------------------------------------------------------
    def select(self, summaries, budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        return self.select_pairs(summaries, budget, context, rng, ())

    def labeled_centres(self, context: SelectionContext) -> np.ndarray:
        """The pairs of the previously selected images, featurised by the
        current model (their summaries), as initial centres."""
        labeled = self.labeled_summaries(context, 'pairs')
        if not len(labeled):
            return np.zeros((0, 0), np.float32)
        centres = labeled.matrix('pair_feats', self.block_size, 'cpu')
        return centres.rows(np.arange(centres.num_rows))

    def select_pairs(self, summaries, budget: int, context: SelectionContext,
                     rng: np.random.Generator,
                     preselected: Sequence[int]) -> Selection:
        """BiB over the images of ``summaries`` (``preselected`` of them
        already chosen in this selection and counted in ``budget``), then
        the fill-up."""
        ids = summaries.ids
        budget = min(budget, len(ids))
        matrix = summaries.matrix('pair_feats', self.block_size, self.device)
        pair_image = matrix.row_image
        pre = [summaries.positions[int(i)] for i in preselected]
        centres = self.labeled_centres(context)
        if len(centres) and matrix.num_rows and \
                centres.shape[1] != matrix.dim:
            raise StrategyError(f'BiB: labeled pairs have {centres.shape[1]}'
                                f'-d features, the pool {matrix.dim}-d')
        trials = self.local_trials
        if isinstance(trials, bool):
            trials = 2 + int(math.log(max(budget, 1))) if trials else 1
        picked, values = kmeanspp_images(
            matrix,
            pair_image,
            len(ids),
            budget - len(pre),
            rng,
            centers=centres if len(centres) else None,
            preselected=pre,
            sampling=self.sampling,
            local_trials=trials)
        chosen = pre + picked
        rest = np.setdiff1d(np.arange(len(ids)), chosen)
        fill = rng.permutation(rest)[:budget - len(chosen)].tolist()
        order = chosen + fill
        scores = [0.0] * len(pre) + values + [0.0] * len(fill)
        return Selection(
            ids=ids[np.asarray(order, dtype=np.int64)],
            scores=np.asarray(scores, dtype=np.float64),
            extra=dict(
                by_bib=len(picked),
                preselected=len(pre),
                filled=len(fill),
                images_with_pairs=int(len(np.unique(pair_image))),
                pairs=int(matrix.num_rows),
                centre_pairs=int(len(centres)),
                local_trials=int(trials)))


@STRATEGIES.register_module(name=['UBiB', 'u-bib'])
class UBiB(BiB):
    """U(BiB) (BiB Table 8): images drawn uniformly at random among those
    with at least one box-in-box pair; the rest of the budget (when fewer
    images have pairs) drawn at random from the other images."""

    uses_labeled = False
    display_fields = ()

    def summarize(self, fields):
        """Only the number of pairs (no pair features)."""
        return {'num_pairs': np.int64(len(self.candidate_pairs(fields)[4]))}

    def select(self, summaries, budget, context, rng) -> Selection:
        ids = summaries.ids
        n = summaries.column('num_pairs', np.int64)
        with_pairs = rng.permutation(ids[n > 0])[:budget]
        rest = rng.permutation(ids[n == 0])[:budget - len(with_pairs)]
        return Selection(
            ids=np.concatenate([with_pairs, rest]),
            extra=dict(with_pairs=len(with_pairs), filled=len(rest)))


@STRATEGIES.register_module(name=['UPlusBiB', 'u-plus-bib'])
class UPlusBiB(BiB):
    """U+BiB (BiB Table 8): half of the budget (rounded down) drawn
    uniformly at random from the pool, the other half with BiB, whose
    centres include the random half's pairs."""

    def select(self, summaries, budget, context, rng) -> Selection:
        ids = summaries.ids
        budget = min(budget, len(ids))
        half = rng.choice(ids, budget // 2, replace=False)
        return self.select_pairs(
            summaries, budget, context, rng, preselected=half.tolist())
