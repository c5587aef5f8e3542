"""CDAL-CS: contextual diversity with greedy k-center (Agarwal, Arora,
Anand and Arora, ECCV 2020). The selection is
:func:`mmal.strategies.functional.greedy_k_center_by` over the summed
symmetric KL distance of
:mod:`mmal.strategies.functional.contextual_diversity`.
"""
import numpy as np
import torch

from mmal.registry import STRATEGIES
from mmal.utils.choices import check_one_of
from .base_strategy import BaseStrategy, Selection, SelectionContext
from .functional import (ClassMixtures, class_mixtures, greedy_k_center_by,
                         nearest_mixture_distances)

DEVICES = ('auto', 'cpu', 'cuda')


@STRATEGIES.register_module(name=['CDAL', 'cdal', 'cdal-cs'])
class CDAL(BaseStrategy):
    """Greedy k-center on contextual diversity, with the labeled images as
    initial centres (a random first pick when there are none).

    Per image, each predicted class's mixture is the entropy-weighted mean
    of its detections' ``cls_probs``; the distance between two images is
    the sum over the C classes of the symmetric KL divergence of their
    mixtures, a class without detections having the uniform mixture.

    Args:
        block (int): Labeled centres whose distances are computed at a
            time. Defaults to 128.
        device (str): ``'auto'`` (mmengine's device), ``'cpu'`` or
            ``'cuda'``. Defaults to 'auto'.
    """

    requires = ('labels', 'cls_probs')
    uses_labeled = True

    def __init__(self, block: int = 128, device: str = 'auto'):
        check_one_of('device', device, DEVICES)
        if int(block) < 1:
            raise ValueError(f'block must be >= 1, got {block}')
        self.block = int(block)
        self.device = device

    def summarize(self, fields):
        classes, mix = class_mixtures(fields['cls_probs'], fields['labels'])
        return {
            'mixtures': mix.astype(np.float32),
            'mixture_classes': classes.astype(np.float32).reshape(-1, 1),
        }

    def _mixtures(self, summaries, num_classes: int) -> ClassMixtures:
        m = summaries.matrix('mixtures', device=self.device)
        c = summaries.matrix('mixture_classes', device=self.device)
        k = num_classes + 1
        if m.num_rows and m.dim != k:
            raise ValueError(f'CDAL: mixtures have {m.dim} columns, expected '
                             f'num_classes + 1 = {k}')
        rows = [x for _, x in m.iter_blocks()]
        cls = [x for _, x in c.iter_blocks()]
        dev = m.device
        rows = torch.cat(rows) if rows else torch.zeros((0, k), device=dev)
        cls = torch.cat(cls).reshape(-1) if cls else torch.zeros(0, device=dev)
        return ClassMixtures(rows,
                             cls.round().long(), m.row_image, len(summaries),
                             num_classes)

    def select(self, summaries, budget: int, context: SelectionContext,
               rng: np.random.Generator) -> Selection:
        labeled = self.labeled_summaries(context, 'mixtures')
        c = int(context.num_classes)
        pool = self._mixtures(summaries, c)
        initial = None
        if len(labeled):
            initial = nearest_mixture_distances(pool,
                                                self._mixtures(labeled,
                                                               c), self.block)
        rows, values = greedy_k_center_by(
            lambda r: pool.distances(pool.tables(r)), len(summaries), budget,
            rng, initial)
        return Selection(ids=summaries.ids[rows], scores=values)
