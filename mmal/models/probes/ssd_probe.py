"""Probe adapter of SSD (``SSDHead``)."""
from typing import List, Optional

import torch

from mmal.registry import PROBES
from .anchor_head_probe import AnchorHeadProbe


@PROBES.register_module()
class SSDProbe(AnchorHeadProbe):
    """Traces each SSD detection to its anchor (see
    :class:`AnchorHeadProbe`).

    Provides ``cls_probs``: the softmax over C + 1, and ``feats``: the
    input of the level's ``cls_convs`` branch at the anchor's location;
    levels of different widths are put in separate blocks of one vector
    (cosine 0 across levels).

    Hooks: the output of ``bbox_head`` and the input of every
    ``bbox_head.cls_convs[level]``.
    """

    priority = 30

    @classmethod
    def mismatch(cls, model) -> Optional[str]:
        from mmdet.models.dense_heads import SSDHead
        return cls._head_mismatch(model, SSDHead, 'an SSDHead')

    @classmethod
    def provided_fields(cls, model):
        # SSD's classification-branch inputs are known: keep feats
        return super(AnchorHeadProbe, cls).provided_fields(model)

    def _register_feat_hooks(self) -> None:
        for level, conv in enumerate(self.model.bbox_head.cls_convs):
            self._hook(conv, f'feat{level}', pre=True)

    def _feature_maps(self, num_levels: int) -> List[torch.Tensor]:
        return [self._store[f'feat{lv}'][0] for lv in range(num_levels)]
