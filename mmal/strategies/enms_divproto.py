"""Entropy, ENMS and DivProto (Wu, Chen and Huang, "Entropy-based Active
Learning for Object Detection with Progressive Diversity Constraint", CVPR
2022), with every Table 1 ablation row as a config.

Per image (``summarize``, during inference):

* instance entropy (Eq. 1): the binary entropy of each detection's score;
* image score: the sum of all instance entropies (Eq. 2, "basic detection
  entropy") or, with ENMS (Algorithm 1), the sum over the detections that
  survive entropy-ordered suppression of same-class look-alikes;
* with DivProto: one prototype per predicted class (Eq. 3, entropy-weighted
  mean of that class's instance features, unit-normalised, fp16) and the
  class's highest confidence ``p(i, c)``.

Per cycle (``select``): the top ``budget`` images by score, or DivProto's
Algorithm 2: walk the images by score and accept one when it brings a class
whose prototype is not yet represented in this cycle's picks (Eq. 4,
``M_g < T_intra``) and it likely contains a minority class with quota left
(Eq. 5, ``M_p > T_inter``); then fill up from the sorted list.

The decisions on the paper's open points are in
``docs/strategies/enms_divproto.md``.
"""
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from mmal.registry import STRATEGIES
from .base_strategy import Selection, SelectionContext
from .functional import (binary_entropy, class_prototypes, divproto_walk, enms,
                         minority_quotas, rank_order, unit_rows)
from .ranking_strategy import RankingStrategy


@STRATEGIES.register_module(name=['ENMSDivProto', 'enms-divproto'])
class ENMSDivProto(RankingStrategy):
    """The full method (Entropy + ENMS + DivProto) and its ablations.

    Args:
        use_enms (bool): Score images by ENMS entropy (Algorithm 1) instead
            of the basic detection entropy (Eq. 2). Defaults to True.
        use_divproto (bool): Select with Algorithm 2 instead of top-b.
            Defaults to True.
        t_enms (float): ENMS cosine threshold. Defaults to 0.5.
        t_intra (float): Intra-class threshold: reject when ``M_g >=
            t_intra``. Defaults to 0.7.
        t_inter (float): Inter-class threshold: accept when ``M_p >
            t_inter``; also the confidence above which a minority class's
            quota is used. Defaults to 0.3.
        alpha (float): Share of classes that are minority classes
            (``max(1, round(alpha * C))``). Defaults to 0.5.
        beta (float): Share of the budget reserved for minority classes;
            each gets ``max(1, round(beta * b / C_minor))``. Defaults to 0.75.
        intra (bool): Apply the intra-class test (Eq. 4) in Algorithm 2.
            Defaults to True.
        inter (bool): Apply the inter-class test and quotas (Eq. 5). Without
            it the constrained pass walks the whole pool until ``b`` images
            are accepted. Defaults to True.
        min_score (float): Detections below this score are ignored (on top
            of the detector's own ``test_cfg.score_thr``). Defaults to 0.
        max_dets (int, optional): Keep only the ``max_dets`` highest-scored
            detections of an image. Defaults to None (all the detector
            returns, e.g. 100 with mmdet's COCO test configs).
        proto_from (str): ``'all'`` detections (Eq. 3 as written) or only
            the ``'enms'``-kept ones. Defaults to ``'all'``.
        fill_up (str): How Algorithm 2 completes ``b``: ``'sorted'`` takes
            the next images by score (as written); ``'intra'`` first
            re-walks them applying the intra-class test alone, then takes
            the rest by score. Defaults to ``'sorted'``.
    """

    def __init__(self,
                 use_enms: bool = True,
                 use_divproto: bool = True,
                 t_enms: float = 0.5,
                 t_intra: float = 0.7,
                 t_inter: float = 0.3,
                 alpha: float = 0.5,
                 beta: float = 0.75,
                 intra: bool = True,
                 inter: bool = True,
                 min_score: float = 0.0,
                 max_dets: Optional[int] = None,
                 proto_from: str = 'all',
                 fill_up: str = 'sorted'):
        if proto_from not in ('all', 'enms'):
            raise ValueError(f"proto_from must be 'all' or 'enms', got "
                             f'{proto_from!r}')
        if fill_up not in ('sorted', 'intra'):
            raise ValueError(f"fill_up must be 'sorted' or 'intra', got "
                             f'{fill_up!r}')
        if not 0 < alpha <= 1 or not 0 < beta <= 1:
            raise ValueError(f'alpha and beta must be in (0, 1], got '
                             f'alpha={alpha}, beta={beta}')
        if max_dets is not None and max_dets < 1:
            raise ValueError(f'max_dets must be >= 1 or None, got {max_dets}')
        # cosine thresholds in [-1, 1], confidences in [0, 1]; NaN fails
        lowest = dict(
            t_enms=(t_enms, -1),
            t_intra=(t_intra, -1),
            t_inter=(t_inter, 0),
            min_score=(min_score, 0))
        for name, (value, lo) in lowest.items():
            if not lo <= value <= 1:
                raise ValueError(f'{name} must be in [{lo}, 1], got {value}')
        self.use_enms = use_enms
        self.use_divproto = use_divproto
        self.t_enms = t_enms
        self.t_intra = t_intra
        self.t_inter = t_inter
        self.alpha = alpha
        self.beta = beta
        self.intra = intra
        self.inter = inter
        self.min_score = min_score
        self.max_dets = max_dets
        self.proto_from = proto_from
        self.fill_up = fill_up

    @property
    def requires(self) -> Tuple[str, ...]:
        """Scores only for the basic detection entropy; labels and
        features for ENMS and DivProto."""
        if self.use_enms or self.use_divproto:
            return ('labels', 'scores', 'feats')
        return ('scores', )

    def describe(self) -> dict:
        """The config plus every effective hyper-parameter."""
        out = dict(getattr(self, '_cfg', {'type': type(self).__name__}))
        for key in ('use_enms', 'use_divproto', 't_enms', 't_intra', 't_inter',
                    'alpha', 'beta', 'intra', 'inter', 'min_score', 'max_dets',
                    'proto_from', 'fill_up'):
            out.setdefault(key, getattr(self, key))
        return out

    # -- per image --------------------------------------------------------
    def _detections(self, fields):
        scores = np.asarray(fields['scores'], dtype=np.float64).reshape(-1)
        keep = np.nonzero(scores >= self.min_score)[0]
        if self.max_dets is not None and keep.size > self.max_dets:
            top = np.argsort(-scores[keep], kind='stable')[:self.max_dets]
            keep = np.sort(keep[top])
        return keep, scores[keep]

    def summarize(self, fields: Mapping[str, np.ndarray]) -> Dict[str, object]:
        keep, scores = self._detections(fields)
        ent = binary_entropy(scores)
        out: Dict[str, object] = {}
        if not (self.use_enms or self.use_divproto):
            out['score'] = np.float64(ent.sum())
            return out
        labels = np.asarray(fields['labels'], dtype=np.int64)[keep]
        feats = np.asarray(fields['feats'], dtype=np.float32)
        if feats.ndim != 2 or len(feats) != len(fields['labels']):
            raise ValueError(f'feats must be (N, D) with N = '
                             f'{len(fields["labels"])} detections, got '
                             f'shape {feats.shape}')
        feats = feats[keep]
        kept = enms(labels, ent, feats, self.t_enms) if (
            self.use_enms or self.proto_from == 'enms') else None
        out['score'] = np.float64(
            ent[kept].sum() if self.use_enms else ent.sum())
        if self.use_divproto:
            sub = kept if self.proto_from == 'enms' else slice(None)
            classes, protos = class_prototypes(labels[sub], ent[sub],
                                               feats[sub])
            # float64, as the scores and t_inter: a float32 copy of a score
            # of exactly t_inter would round above it
            conf = np.array([scores[labels == c].max() for c in classes],
                            dtype=np.float64)
            out['classes'] = classes.astype(np.int32)
            out['confidence'] = conf
            out['protos'] = unit_rows(protos).astype(np.float16).reshape(
                len(classes), feats.shape[1])
        return out

    # -- per cycle --------------------------------------------------------
    def minority_quotas(self, class_counts: np.ndarray,
                        budget: int) -> Dict[int, int]:
        """The minority classes and their quotas (see
        :func:`mmal.strategies.functional.minority_quotas`)."""
        return minority_quotas(class_counts, budget, self.alpha, self.beta)

    def select(self, summaries, budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        if not self.use_divproto:
            return super().select(summaries, budget, context, rng)
        scores = self.scores(summaries, context)
        ranked = rank_order(scores, rng)
        picked, stats = self.walk(summaries, ranked, budget,
                                  context.class_counts)
        return Selection(
            ids=summaries.ids[picked], scores=scores[picked], extra=stats)

    def walk(self, summaries, ranked: np.ndarray, budget: int,
             class_counts: np.ndarray):
        """Algorithm 2 with this strategy's settings over the positions
        ``ranked`` (descending score) of ``summaries``; returns the picked
        positions (an int64 array) and the counts of
        :func:`mmal.strategies.functional.divproto_walk`."""
        picked, stats = divproto_walk(
            summaries,
            ranked,
            budget,
            class_counts,
            t_intra=self.t_intra,
            t_inter=self.t_inter,
            alpha=self.alpha,
            beta=self.beta,
            intra=self.intra,
            inter=self.inter,
            fill_up=self.fill_up)
        return np.asarray(picked, dtype=np.int64), stats

    def divproto(self, ranked_ids, summaries, budget: int,
                 class_counts: np.ndarray):
        """Algorithm 2 over image ids ``ranked_ids`` (descending score);
        returns the picked ids in pick order and the counts."""
        pos = np.array([summaries.positions[int(i)] for i in ranked_ids],
                       dtype=np.int64)
        picked, stats = self.walk(summaries, pos, budget, class_counts)
        return summaries.ids[picked].tolist(), stats


@STRATEGIES.register_module(name=['Entropy', 'entropy'])
class Entropy(ENMSDivProto):
    """Table 1 row 1: top-b by basic detection entropy (Eq. 2). Takes
    ``min_score`` and ``max_dets`` like :class:`ENMSDivProto`."""

    def __init__(self, **kwargs):
        super().__init__(**{
            'use_enms': False,
            'use_divproto': False,
            **kwargs
        })


@STRATEGIES.register_module(name=['ENMS', 'enms'])
class ENMS(ENMSDivProto):
    """Table 1 row 2: top-b by ENMS entropy (Algorithm 1)."""

    def __init__(self, **kwargs):
        super().__init__(**{'use_enms': True, 'use_divproto': False, **kwargs})


@STRATEGIES.register_module(name=['DivProto', 'divproto'])
class DivProto(ENMSDivProto):
    """Table 1 row 3: Algorithm 2 over basic detection entropy."""

    def __init__(self, **kwargs):
        super().__init__(**{'use_enms': False, 'use_divproto': True, **kwargs})
