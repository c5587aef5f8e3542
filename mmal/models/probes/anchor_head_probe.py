"""Probe adapter of anchor-based dense heads (RetinaNet's ``RetinaHead``,
any mmdet ``AnchorHead``)."""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from mmal.registry import PROBES
from mmal.strategies import StrategyError
from .base_probe import model_name, overridden
from .class_distribution import sigmoid_distribution
from .score_tracing_probe import ScoreTracingProbe
from .tracing import rescale_boxes

#: ``BaseDenseHead``'s post-processing, which the dense-head adapters model.
DENSE_POST_METHODS = ('predict_by_feat', '_predict_by_feat_single',
                      '_bbox_post_process')


@PROBES.register_module()
class AnchorHeadProbe(ScoreTracingProbe):
    """Traces each detection to the anchor it was decoded from.

    Provides ``cls_probs``: for a softmax head the C + 1 probabilities; for
    a sigmoid head (RetinaNet) the C probabilities and ``1 - max`` as
    background, normalised to sum to 1. ``feats`` (heads with
    ``retina_cls`` only): the input of ``retina_cls`` at the anchor's level
    and location, (D,) with D the head's ``feat_channels``.

    Hooks: the output of ``bbox_head`` (per-level class scores and box
    deltas) and the input of ``bbox_head.retina_cls`` at every level.
    """

    priority = 20
    source = 'anchor'
    agnostic_boxes = True

    @classmethod
    def _head_mismatch(cls, model, head_type, needs: str) -> Optional[str]:
        if getattr(model, 'roi_head', None) is not None:
            return 'its detections come from the roi_head, not a dense head'
        head = getattr(model, 'bbox_head', None)
        if head is None:
            return f'needs a bbox_head ({needs}); the detector has none'
        if not isinstance(head, head_type):
            return f'needs {needs}; bbox_head is {type(head).__name__}'
        return None

    @classmethod
    def mismatch(cls, model) -> Optional[str]:
        from mmdet.models.dense_heads import AnchorHead
        from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
        reason = cls._head_mismatch(
            model, AnchorHead, 'an anchor-based dense head (an mmdet '
            'AnchorHead, e.g. RetinaHead)')
        head = getattr(model, 'bbox_head', None)
        changed = [] if reason else overridden(head, BaseDenseHead,
                                               DENSE_POST_METHODS)
        if changed:
            return (f'needs BaseDenseHead\'s own post-processing; '
                    f'{type(head).__name__} overrides {changed}')
        return reason

    @classmethod
    def provided_fields(cls, model) -> Tuple[str, ...]:
        fields = super().provided_fields(model)
        if not hasattr(model.bbox_head, 'retina_cls'):
            fields = tuple(f for f in fields if f != 'feats')
        return fields

    @classmethod
    def hint(cls, model, missing: Sequence[str]) -> str:
        hints = [super().hint(model, missing)]
        if 'feats' in missing:
            hints.append('mmal knows the classification-branch feature of '
                         'RetinaHead, SSDHead and heads with a known '
                         'classification layer (DenseHeadProbe.cls_layers)')
        return '; '.join(h for h in hints if h)

    def _register_hooks(self) -> None:
        super()._register_hooks()
        if not self.traced:
            return
        self._hook(self.model.bbox_head, 'head')
        if 'feats' in self.fields:
            self._register_feat_hooks()

    def _register_feat_hooks(self) -> None:
        """Hooks that keep the classification branch's input per level."""
        self._hook(
            self.model.bbox_head.retina_cls, 'feat', pre=True, append=True)

    def _feature_maps(self, num_levels: int) -> List[torch.Tensor]:
        """(B, D_l, H_l, W_l) classification-branch inputs per level."""
        return [args[0] for args in self._store['feat']]

    def _trace(self, b: int, sample):
        head = self.model.bbox_head
        head_out = self._store['head']
        if len(head_out) != 2:
            raise StrategyError(
                f'detector {model_name(self.model)} (head '
                f'{type(head).__name__}) predicts score factors (e.g. '
                'centerness), which rewrite scores; probes cannot trace its '
                'detections')
        cls_scores, bbox_preds = head_out
        sizes = [s.shape[-2:] for s in cls_scores]
        c_out = head.cls_out_channels
        per_level = [
            s[b].permute(1, 2, 0).reshape(-1, c_out).float()
            for s in cls_scores
        ]
        if head.use_sigmoid_cls:
            fg = [s.sigmoid() for s in per_level]
        else:
            probs = [s.softmax(-1) for s in per_level]
            fg = [p[:, :-1] for p in probs]
        fg_all = torch.cat(fg)
        counts = [p.shape[0] for p in fg]
        starts = np.concatenate([[0], np.cumsum(counts)])
        img_shape = sample.metainfo['img_shape']

        def locate(rows):
            level = np.searchsorted(starts, rows.cpu().numpy(), 'right') - 1
            return level, rows.cpu().numpy() - starts[level]

        priors = []

        def decode(rows, classes):
            if not priors:  # only when scores tie, once per image
                priors.extend(
                    head.prior_generator.grid_priors(
                        sizes, dtype=fg_all.dtype, device=fg_all.device))
            level, idx = locate(rows)
            out = fg_all.new_zeros((len(level), 4))
            for lv in np.unique(level):
                mask = level == lv
                sel = torch.as_tensor(idx[mask], device=fg_all.device)
                delta = bbox_preds[lv][b].permute(1, 2, 0).reshape(
                    -1, head.bbox_coder.encode_size)[sel]
                out[torch.as_tensor(mask, device=out.device)] = \
                    head.bbox_coder.decode(
                        priors[lv][sel], delta, max_shape=img_shape)
            return rescale_boxes(out, sample)

        rows = self._match(fg_all, sample, decode)
        if head.use_sigmoid_cls:
            # C independent sigmoids: background = 1 - max, normalised
            dist = sigmoid_distribution(fg_all[rows])
        else:
            dist = torch.cat(probs)[rows]
        feats = None
        if 'feats' in self.fields:
            feats = self._dense_feats(b, rows, locate, len(sizes))
        return dist, feats

    def _dense_feats(self, b: int, rows: torch.Tensor, locate,
                     num_levels: int) -> torch.Tensor:
        """(N, D) features of the traced anchors ``rows`` of image ``b``:
        the classification-branch input at each anchor's level and
        location. Levels of different widths are put in separate blocks of
        one vector (D = the sum of the widths; cosine 0 across levels)."""
        head = self.model.bbox_head
        maps = self._feature_maps(num_levels)
        widths = [m.shape[1] for m in maps]
        same = len(set(widths)) == 1
        offsets = np.concatenate([[0], np.cumsum(widths)])
        dim = widths[0] if same else int(offsets[-1])
        out = maps[0].new_zeros((rows.numel(), dim)).float()
        level, idx = locate(rows)
        num_base = head.prior_generator.num_base_priors
        for lv in np.unique(level):
            mask = level == lv
            loc = idx[mask] // num_base[lv]
            fmap = maps[lv][b].flatten(1)  # (width, H * W)
            cols = torch.as_tensor(loc, device=fmap.device)
            start = 0 if same else int(offsets[lv])
            out[torch.as_tensor(mask, device=out.device),
                start:start + widths[lv]] = fmap.t()[cols].float()
        return out
