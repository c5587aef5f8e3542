"""Probe adapter of Generalized Focal Loss heads (``GFLHead``, LD's
``LDHead``)."""
from typing import ClassVar, Tuple

import torch

from mmal.registry import PROBES
from .dense_head_probe import DenseHeadProbe


@PROBES.register_module()
class GFLHeadProbe(DenseHeadProbe):
    """Traces each GFL detection to its anchor (see
    :class:`DenseHeadProbe`).

    GFL's score is the sigmoid of ``gfl_cls``, a joint
    classification-quality (IoU) score learnt with Quality Focal Loss;
    there is no separate rescoring, so ``cls_probs`` is that sigmoid (C
    values and ``1 - max`` as background, normalised) and its class entry
    is the detection's score. ``feats``: the input of ``gfl_cls`` (the
    classification tower's output) at the anchor's location.
    Boxes are decoded as ``GFLHead._predict_by_feat_single`` does (the
    integral of the side distributions times the stride, from the anchor
    centre) when scores tie.
    """

    cls_layers: ClassVar[Tuple[str, ...]] = ('gfl_cls', )
    post_methods: ClassVar[Tuple[str, ...]] = ('_predict_by_feat_single', )

    @classmethod
    def recipe(cls):
        from mmdet.models.dense_heads import GFLHead
        return GFLHead

    def _decode_level(self, b, lv, idx, priors, img_shape) -> torch.Tensor:
        head = self.model.bbox_head
        stride = head.prior_generator.strides[lv][0]
        dist = self._store['head'][1][lv][b].permute(1, 2, 0)
        dist = dist.reshape(-1, dist.shape[-1])[idx]
        return head.bbox_coder.decode(
            head.anchor_center(priors[idx]),
            head.integral(dist) * stride,
            max_shape=img_shape)
