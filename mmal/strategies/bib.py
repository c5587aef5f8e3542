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
import numbers
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from mmal.registry import STRATEGIES
from mmal.utils.choices import check_one_of
from .base_strategy import (BaseStrategy, Selection, SelectionContext,
                            StrategyError)
from .functional import box_in_box_pairs, kmeanspp_images
from .functional.box_in_box import BOX_ARITHMETIC, PAIRING
from .functional.k_center import EXACT
from .functional.kmeanspp import SAMPLING

FILL_UP = ('random', )
DEVICES = ('auto', 'cpu', 'cuda')
#: How many greedy k-means++ candidates a pick draws: ``2 + int(ln k)`` with
#: k the images selected by the end of this acquisition, ``(cycle + 1) x B``
#: (the official code), or k = B, this acquisition's budget.
LOCAL_TRIALS = ('cumulative', 'budget')
U_PLUS_BIB_ORDERS = ('bib_first', 'random_first')
#: Features of a pair's boxes: pooled at the ``'final_boxes'`` (the official
#: code) or those of the detections' ``'proposals'``.
PAIR_FEATURES = ('final_boxes', 'proposals')
#: Centres of later cycles: the pairs ``'recorded'`` when each labeled
#: image was selected, re-featurised (the official code), or pairs
#: ``'redetect'``-ed on the labeled images by the current model.
LATER_PAIRS = ('recorded', 'redetect')


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@STRATEGIES.register_module(name=['BiB', 'bib'])
class BiB(BaseStrategy):
    """Box-in-box acquisition; see the module docstring and
    ``docs/strategies/bib.md``.

    Args:
        mu (float): Minimum area ratio of a pair's large box to its small
            box. Defaults to 3.
        delta (float): Minimum fraction of the small box inside the large
            box. Defaults to 0.8.
        score_thr (float | Sequence[float]): Only detections scored above
            it enter pairs. A sequence gives one threshold per acquisition
            (``cycle`` 0, 1, ...), its last value for the later ones; e.g.
            ``(0.5, 0.1)``, the official COCO setting. Defaults to 0.1.
        use_image_labels (bool): Only detections of the image's image-level
            classes enter pairs. Defaults to True.
        pairing (str): ``'all'`` qualifying large boxes of a small box (the
            paper's Eq. 1) or only the ``'first'`` (highest-scored; the
            official code). Defaults to 'first'.
        box_arithmetic (str): How the cover and the area ratio of a pair
            are computed: ``'wetectron'`` (the official code's formulas on
            the given boxes: the cover with maskrcnn-benchmark's +1, the
            area ratio without, zero-area small boxes kept),
            ``'wetectron-inclusive'`` (the same on inclusive corners
            ``x2 - 1``, ``y2 - 1``) or ``'mmdet'`` (no +1, zero-area small
            boxes skipped). Defaults to 'wetectron'.
        sampling (str): ``'squared'`` (official code, k-means++) or
            ``'linear'`` (paper text) distance weights. Defaults to
            'squared'.
        local_trials (str | bool | int): Greedy k-means++: draw several
            candidates per pick and keep the one that lowers the potential
            most. ``'cumulative'`` (or True): ``2 + int(ln k)`` with ``k =
            (cycle + 1) x B`` the images selected by the end of this
            acquisition (the official code); ``'budget'``: ``k = B``; an
            int: that many; False: one draw per pick. Defaults to
            'cumulative'.
        pair_features (str): A pair's feature concatenates its boxes' fc7
            features pooled at the ``'final_boxes'`` (one more RoI-head
            pass, field ``box_feats``; the official code) or those of the
            detections' ``'proposals'`` (field ``feats``). Defaults to
            'final_boxes'.
        later_pairs (str): The centres of later cycles: the pairs
            ``'recorded'`` in ``selected.json`` when each labeled image was
            selected by BiB, re-featurised with the current model at the
            same boxes (field ``query_feats``; the official code), or the
            pairs ``'redetect'``-ed on every labeled image by the current
            model. Defaults to 'recorded'.
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
        exact (str): ``'pruned'``: k-means++ with triangle-inequality
            pruning (the same picks, fewer distances;
            :func:`~mmal.strategies.functional.kmeanspp_images_pruned`) or
            the unpruned ``'reference'``. Defaults to 'pruned'.
    """

    uses_labeled = True
    display_fields = ('det_boxes', 'det_scores', 'det_labels', 'pair_boxes',
                      'pair_labels')

    def __init__(self,
                 mu: float = 3.0,
                 delta: float = 0.8,
                 score_thr: Union[float, Sequence[float]] = 0.1,
                 use_image_labels: bool = True,
                 pairing: str = 'first',
                 box_arithmetic: str = 'wetectron',
                 sampling: str = 'squared',
                 local_trials='cumulative',
                 pair_features: str = 'final_boxes',
                 later_pairs: str = 'recorded',
                 fill_up: str = 'random',
                 projection_dim: Optional[int] = None,
                 projection_seed: int = 0,
                 block_size: int = 8192,
                 device: str = 'auto',
                 exact: str = 'pruned'):
        check_one_of('exact', exact, EXACT)
        check_one_of('pairing', pairing, PAIRING)
        check_one_of('box_arithmetic', box_arithmetic, BOX_ARITHMETIC)
        check_one_of('sampling', sampling, SAMPLING)
        check_one_of('pair_features', pair_features, PAIR_FEATURES)
        check_one_of('later_pairs', later_pairs, LATER_PAIRS)
        check_one_of('fill_up', fill_up, FILL_UP)
        if not mu >= 1:
            raise ValueError(f'mu must be >= 1, got {mu}')
        if not 0 < delta <= 1:
            raise ValueError(f'delta must be in (0, 1], got {delta}')
        per_cycle = isinstance(score_thr, (list, tuple))
        thresholds = list(score_thr) if per_cycle else [score_thr]
        if not thresholds:
            raise ValueError('score_thr must be a number or a non-empty '
                             'sequence of numbers, got []')
        for thr in thresholds:
            if not (_is_number(thr) and 0 <= thr < 1):
                where = f' (in {score_thr!r})' if per_cycle else ''
                raise ValueError(
                    f'score_thr must be in [0, 1), got {thr!r}{where}')
        if not (isinstance(local_trials, bool) or local_trials in LOCAL_TRIALS
                or (isinstance(local_trials, int) and local_trials >= 1)):
            raise ValueError(f'local_trials must be one of {LOCAL_TRIALS}, '
                             f'True, False or an int >= 1, got '
                             f'{local_trials!r}')
        if projection_dim is not None and not (isinstance(projection_dim, int)
                                               and projection_dim > 0):
            raise ValueError('projection_dim must be a positive int or None, '
                             f'got {projection_dim!r}')
        check_one_of('device', device, DEVICES)
        self.mu, self.delta = mu, delta
        self.score_thr = tuple(score_thr) if isinstance(
            score_thr, (list, tuple)) else score_thr
        self._thresholds = [float(t) for t in thresholds]
        self._cycle = 0
        self.use_image_labels = use_image_labels
        self.pairing, self.sampling = pairing, sampling
        self.box_arithmetic = box_arithmetic
        self.local_trials = 'cumulative' if local_trials is True \
            else local_trials
        self.pair_features, self.later_pairs = pair_features, later_pairs
        self.fill_up = fill_up
        #: image id -> (P, 8) pair boxes recorded when it was selected
        self.recorded_pairs: Dict[int, np.ndarray] = {}
        self.projection_dim = projection_dim
        self.projection_seed = projection_seed
        self.block_size = block_size
        self.device = device
        self.exact = exact
        self._projection: Optional[np.ndarray] = None

    #: Hyper-parameters recorded by :meth:`describe`.
    recorded = ('mu', 'delta', 'score_thr', 'use_image_labels', 'pairing',
                'box_arithmetic', 'sampling', 'local_trials', 'pair_features',
                'later_pairs', 'fill_up', 'projection_dim', 'projection_seed',
                'block_size', 'device', 'exact')

    def describe(self) -> dict:
        """The config plus every effective hyper-parameter (defaults
        included), as ``selected.json`` records it."""
        out = dict(getattr(self, '_cfg', {'type': type(self).__name__}))
        for key in self.recorded:
            out.setdefault(key, getattr(self, key))
        return out

    @property
    def requires(self) -> Tuple[str, ...]:
        """The detections with their features, the image-level labels
        when ``use_image_labels``, and the features at the recorded pair
        boxes when ``later_pairs='recorded'``."""
        feats = 'box_feats' if self.pair_features == 'final_boxes' \
            else 'feats'
        return ('bboxes', 'scores', 'labels', feats) + (
            ('img_labels', ) if self.use_image_labels else
            ()) + (('query_boxes',
                    'query_feats') if self.later_pairs == 'recorded' else ())

    def begin_cycle(self, cycle: int, history=()) -> None:
        """Remember the cycle (the score threshold may depend on it) and
        the pair boxes recorded by the earlier selections
        (``pair_boxes`` of their ``extra``)."""
        self._cycle = int(cycle)
        self.recorded_pairs = {}
        for extra in history:
            for img_id, boxes in (extra.get('pair_boxes') or {}).items():
                self.recorded_pairs[int(img_id)] = np.asarray(
                    boxes, np.float32).reshape(-1, 8)

    def query_boxes(self, img_id: int) -> np.ndarray:
        """The recorded pairs' boxes of a labeled image, small then large
        box of each pair ((2P, 4); none for other images)."""
        boxes = self.recorded_pairs.get(int(img_id))
        if boxes is None or self.later_pairs != 'recorded':
            return np.zeros((0, 4), np.float32)
        return boxes.reshape(-1, 4)

    def threshold(self, cycle: int) -> float:
        """The score threshold of the acquisition scored by ``cycle``."""
        return self._thresholds[min(int(cycle), len(self._thresholds) - 1)]

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
        # in float32, the scores' precision, as the official code's torch
        # comparison: a score of exactly float32(thr) is not above it
        keep = scores > np.float32(self.threshold(self._cycle))
        if self.use_image_labels:
            keep &= np.isin(labels, np.asarray(fields['img_labels']))
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        small, large = box_in_box_pairs(boxes, labels, self.mu, self.delta,
                                        self.pairing, self.box_arithmetic)
        return boxes, scores, labels, keep, small, large

    def summarize(self, fields) -> Dict[str, np.ndarray]:
        """The image's pairs: ``pair_feats`` (P, 2D or projection_dim)
        fp16, ``pair_boxes`` (P, 8) small then large box, ``pair_labels``
        (P,), and the detections that could pair (``det_boxes``,
        ``det_scores``, ``det_labels``), for visualisation. For a labeled
        image with recorded pairs (``query_boxes``), the pairs are those,
        featurised at their boxes (``pair_labels`` -1: the classes are in
        the selection record)."""
        boxes, scores, labels, keep, small, large = self.candidate_pairs(
            fields)
        query = np.asarray(
            fields.get('query_boxes', np.zeros((0, 4))),
            np.float32).reshape(-1, 4)
        if len(query):
            feats = np.asarray(fields['query_feats'], np.float32)
            feats = feats.reshape(len(query), -1)
            pair_feats = np.concatenate([feats[0::2], feats[1::2]], axis=1)
            pair_boxes = query.reshape(-1, 8)
            pair_labels = np.full(len(pair_boxes), -1, np.int64)
        else:
            key = 'box_feats' if self.pair_features == 'final_boxes' \
                else 'feats'
            feats = np.asarray(fields[key], np.float32)
            feats = feats.reshape(len(keep), -1) if len(keep) else \
                feats.reshape(0, feats.shape[-1] if feats.ndim == 2 else 0)
            feats = feats[keep]
            pair_feats = np.concatenate([feats[small], feats[large]], axis=1)
            pair_boxes = np.concatenate([boxes[small], boxes[large]], axis=1)
            pair_labels = labels[small]
        if self.projection_dim is not None:
            pair_feats = pair_feats @ self._project(pair_feats.shape[1])
        return dict(
            pair_feats=pair_feats.astype(np.float16),
            pair_boxes=pair_boxes,
            pair_labels=pair_labels,
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
        current model (their summaries), as initial centres: with
        ``later_pairs='recorded'`` only the images with recorded pairs
        (BiB's picks), otherwise every labeled image."""
        labeled = self.labeled_summaries(context, 'pairs')
        if len(labeled) and self.later_pairs == 'recorded':
            ids = [
                int(i) for i in labeled.ids
                if len(self.recorded_pairs.get(int(i), ()))
            ]
            labeled = labeled.take(np.asarray(ids, np.int64))
        if not len(labeled):
            return np.zeros((0, 0), np.float32)
        centres = labeled.matrix('pair_feats', self.block_size, 'cpu')
        return centres.rows(np.arange(centres.num_rows))

    def select_pairs(self,
                     summaries,
                     budget: int,
                     context: SelectionContext,
                     rng: np.random.Generator,
                     preselected: Sequence[int],
                     bib_budget: Optional[int] = None) -> Selection:
        """BiB over the images of ``summaries`` (``preselected`` of them
        already chosen in this selection and counted in ``budget``), then
        the fill-up. ``bib_budget`` (default ``budget``) is the B of the
        local-trial count."""
        ids = summaries.ids
        trials, k = self.num_trials(bib_budget or budget, context)
        budget = min(budget, len(ids))
        matrix = summaries.matrix('pair_feats', self.block_size, self.device)
        pair_image = matrix.row_image
        pre = [summaries.positions[int(i)] for i in preselected]
        centres = self.labeled_centres(context)
        if len(centres) and matrix.num_rows and \
                centres.shape[1] != matrix.dim:
            raise StrategyError(f'BiB: labeled pairs have {centres.shape[1]}'
                                f'-d features, the pool {matrix.dim}-d')
        stats: Dict[str, int] = {}
        picked, values = kmeanspp_images(
            matrix,
            pair_image,
            len(ids),
            budget - len(pre),
            rng,
            centers=centres if len(centres) else None,
            preselected=pre,
            sampling=self.sampling,
            local_trials=trials,
            exact=self.exact,
            stats=stats)
        chosen = pre + picked
        # the pairs of the images whose pairs became centres, for the next
        # cycles (later_pairs='recorded')
        recorded = {
            int(ids[p]):
            np.asarray(summaries.image(p)['pair_boxes'],
                       np.float32).reshape(-1, 8)
            for p in chosen
        }
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
                local_trials=int(trials),
                local_trials_k=k,
                score_thr=self.threshold(context.cycle),
                pair_boxes=recorded,
                **stats))

    def num_trials(self, budget: int,
                   context: SelectionContext) -> Tuple[int, Optional[int]]:
        """Candidates per pick, and the k of ``2 + int(ln k)`` (None when
        ``local_trials`` is an int or False).

        Args:
            budget (int): The images BiB picks in this acquisition (B; for
                U+BiB its BiB half).
            context (SelectionContext): Gives ``cycle``: this is acquisition
                ``cycle + 1``, so ``'cumulative'`` counts ``(cycle + 1) x
                budget`` images (the official code's ``cycle x budget``).
        """
        if self.local_trials is False:
            return 1, None
        if not isinstance(self.local_trials, str):
            return int(self.local_trials), None
        k = max(int(budget), 1)
        if self.local_trials == 'cumulative':
            k *= int(context.cycle) + 1
        return 2 + int(math.log(k)), k


@STRATEGIES.register_module(name=['UBiB', 'u-bib'])
class UBiB(BiB):
    """U(BiB) (BiB Table 8): images drawn uniformly at random among those
    with at least one box-in-box pair; the rest of the budget (when fewer
    images have pairs) drawn at random from the other images."""

    uses_labeled = False
    display_fields = ()

    @property
    def requires(self) -> Tuple[str, ...]:
        """The detections (no features), and the image-level labels when
        ``use_image_labels``."""
        return ('bboxes', 'scores', 'labels') + (
            ('img_labels', ) if self.use_image_labels else ())

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
    """U+BiB (BiB Table 8): half of the budget with BiB, half uniformly at
    random.

    Args:
        order (str): ``'bib_first'`` (the official code): BiB picks
            ``B - floor(B/2)`` images, seeded by the pairs of the earlier
            BiB picks only, then ``floor(B/2)`` are drawn at random from the
            rest; random picks never become centres. ``'random_first'``:
            ``floor(B/2)`` random images first, whose pairs are centres of
            the BiB half. Defaults to 'bib_first'.
        **kwargs: :class:`BiB`'s arguments.
    """

    recorded = BiB.recorded + ('order', )

    def __init__(self, order: str = 'bib_first', **kwargs):
        check_one_of('order', order, U_PLUS_BIB_ORDERS)
        super().__init__(**kwargs)
        self.order = order

    def select(self, summaries, budget, context, rng) -> Selection:
        ids = summaries.ids
        half = min(budget, len(ids)) // 2
        bib_budget = budget - budget // 2
        if self.order == 'random_first':
            pre = rng.choice(ids, half, replace=False)
            # mmal's earlier reading: k-means++ counts the random half too
            return self.select_pairs(summaries, min(budget, len(ids)), context,
                                     rng, pre.tolist())
        sel = self.select_pairs(summaries,
                                min(budget, len(ids)) - half, context, rng, (),
                                bib_budget)
        rest = np.setdiff1d(ids, sel.ids)
        randomly = rng.choice(rest, half, replace=False)
        extra = dict(sel.extra, randomly_selected=int(half))
        return Selection(
            ids=np.concatenate([sel.ids, randomly]),
            scores=np.concatenate([sel.scores, np.zeros(half)]),
            extra=extra)
