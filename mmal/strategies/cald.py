"""CALD: consistency-based active learning for object detection (Yu, Zhu,
Yang, Chen and Li, 2021), acquisition only. Stage 1 ranks images by the
consistency of their detections with those on augmented views; stage 2
picks, among the least consistent candidates, the images whose predicted
class distribution differs most from the labeled set's."""
from typing import Sequence

import numpy as np

from mmal.registry import STRATEGIES
from .base_strategy import BaseStrategy, Selection, SelectionContext
from .functional import js_divergence, rank_order, softmax

DEFAULT_VIEWS = (dict(view='flip'), dict(view='resize', scale=0.8))


@STRATEGIES.register_module(name=['CALD', 'cald'])
class CALD(BaseStrategy):
    """CALD's two stages, following the released code.

    Stage 1, per image: each view (an :class:`AugmentedViewPass`) matches
    every detection (box b, class distribution p, max foreground
    probability s) to the view's detection that overlaps it best (IoU u,
    distribution q, probability s'); its consistency is
    ``u + (1 - JS(p, q)) (s + s') / 2``, and the view's value is the
    smallest ``|consistency - base_point|`` over the detections (0 when
    the image or the view has no detection). The image's value is the mean
    over the views; the ``ceil(candidate_ratio * budget)`` lowest values
    are the candidates.

    Stage 2: each candidate's class vector is the mean, over the image and
    its views, of the highest score per class; the labeled set's is the
    mean number of boxes per class per labeled image. Candidates whose
    class vector is zero come first, then the highest JS divergence
    between the softmax of the labeled vector and the softmax of theirs.

    Args:
        views (Sequence[dict]): ``AugmentedViewPass`` settings, one pass
            each. Defaults to flip and resize by 0.8.
        base_point (float): Defaults to 1.3 (released code).
        candidate_ratio (float): Candidates per budget image (>= 1).
            Defaults to 1.2 (released code).
    """

    requires = ('scores', 'labels', 'cls_probs', 'pass_ious', 'pass_cls_probs',
                'pass_class_scores')

    def __init__(self,
                 views: Sequence[dict] = DEFAULT_VIEWS,
                 base_point: float = 1.3,
                 candidate_ratio: float = 1.2):
        if not views:
            raise ValueError('CALD needs at least one view')
        if float(candidate_ratio) < 1:
            raise ValueError(f'candidate_ratio must be >= 1, got '
                             f'{candidate_ratio}')
        self.views = [dict(v) for v in views]
        self.base_point = float(base_point)
        self.candidate_ratio = float(candidate_ratio)
        self.extra_passes = tuple(
            dict(type='AugmentedViewPass', **v) for v in self.views)

    def summarize(self, fields):
        p = np.asarray(fields['cls_probs'], np.float64)
        c = p.shape[1] - 1
        labels = np.asarray(fields['labels'], np.int64).reshape(-1)
        scores = np.asarray(fields['scores'], np.float64).reshape(-1)
        ref_cls = np.zeros(c)
        if len(labels):
            np.maximum.at(ref_cls, labels, scores)
        view_cls = np.asarray(fields['pass_class_scores'],
                              np.float64).reshape(-1, c)
        class_scores = np.vstack([ref_cls[None], view_cls]).mean(0)
        if len(labels) == 0:  # as released: no views, a zero vector
            return dict(
                consistency=np.float64(0.0),
                class_scores=np.zeros(c, np.float32))
        ious = np.asarray(fields['pass_ious'], np.float64)
        q = np.asarray(fields['pass_cls_probs'], np.float64)
        s = p[:, :c].max(1)
        values = []
        for v in range(len(ious)):
            if view_cls[v].max() <= 0:  # the view has no detection
                values.append(0.0)
                continue
            sv = q[v][:, :c].max(1)
            cons = ious[v] + (1 - js_divergence(p, q[v])) * (s + sv) / 2
            values.append(float(np.abs(cons - self.base_point).min()))
        return dict(
            consistency=np.float64(np.mean(values)),
            class_scores=class_scores.astype(np.float32))

    def select(self, summaries, budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        n = len(summaries)
        budget = min(int(budget), n)
        cons = summaries.column('consistency')
        m = min(n, max(budget, int(np.ceil(self.candidate_ratio * budget))))
        cand = rank_order(-cons, rng)[:m]  # the lowest values first
        vec = summaries.stack('class_scores', np.float64)[cand]
        labeled = np.asarray(context.class_counts, np.float64) / max(
            1, len(context.labeled_ids))
        if vec.shape[1] != labeled.shape[0]:
            raise ValueError(f'CALD: class_scores have {vec.shape[1]} '
                             f'classes, the labeled set {labeled.shape[0]}')
        js = js_divergence(softmax(labeled)[None], softmax(vec))
        empty = vec.sum(1) == 0
        # zero vectors first (in candidate order), then the highest JS
        order = np.lexsort((np.arange(m), -js, ~empty))[:budget]
        return Selection(
            ids=summaries.ids[cand[order]],
            scores=js[order],
            extra=dict(
                candidates=int(m),
                forward_passes_per_image=1 + len(self.views)))
