"""Probe adapter of dense heads post-processed by mmdet's
``BaseDenseHead`` (FCOS, ATSS, VarifocalNet, RTMDet and the heads built
from them), including centerness / IoU score factors."""
from typing import ClassVar, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from mmal.registry import PROBES
from mmal.strategies import StrategyError
from .anchor_head_probe import DENSE_POST_METHODS, AnchorHeadProbe
from .base_probe import describe_model, overridden
from .class_distribution import sigmoid_distribution
from .tracing import rescale_boxes


@PROBES.register_module()
class DenseHeadProbe(AnchorHeadProbe):
    """Traces each detection of a dense head to the location (prior) it
    was decoded from, for heads whose test-time post-processing is
    ``BaseDenseHead``'s own (``predict_by_feat``,
    ``_predict_by_feat_single``, ``_bbox_post_process`` not overridden).

    There the final score of prior ``i`` and class ``c`` is
    ``act(cls_score)[i, c]``, times ``sigmoid(score_factor)[i]`` when the
    head predicts score factors (FCOS / ATSS centerness, DDOD IoU,
    AutoAssign objectness); NMS keeps scores as they are. So the probe
    recomputes that (M, C) matrix from the head's outputs and traces each
    detection to the prior whose class-``c`` entry is its score
    (:func:`~mmal.models.probes.tracing.match_sources`; ties by the
    decoded box). mmdet does not return the kept indices
    (``filter_scores_and_topk``'s ``keep_idxs`` and the NMS keep stay
    inside the head), hence tracing by score.

    Provides ``cls_probs``: the classification distribution *before*
    rescoring: the output of the head's classification layer
    (:attr:`cls_layers`) at the prior, sigmoid (C values and ``1 - max``
    as background, normalised, as for RetinaNet) or softmax (C + 1). For
    FCOS / ATSS that is the class sigmoid without centerness, while
    ``scores`` stay the final (rescored) scores; for VarifocalNet it is the
    IoU-aware classification score (there is no separate rescoring); for
    RTMDet the classification before objectness when the head has one.
    ``feats``: the input of that classification layer (the classification
    tower's output) at the prior's level and location, (D,) with D the
    head's ``feat_channels``.

    Hooks: the output of ``bbox_head`` and the input and output of the
    classification layer at every level.
    """

    priority = 25
    source = 'prior'
    #: Names of the classification layer (one module called per level, or
    #: a ``ModuleList`` of one per level) of the heads this adapter knows.
    cls_layers: ClassVar[Tuple[str, ...]] = ('conv_cls', 'atss_cls',
                                             'vfnet_cls', 'rtm_cls')
    #: Post-processing methods the head must not override.
    post_methods: ClassVar[Tuple[str, ...]] = DENSE_POST_METHODS

    # -- declarations ------------------------------------------------------
    @classmethod
    def recipe(cls):
        """The mmdet head class whose post-processing the adapter
        models."""
        from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
        return BaseDenseHead

    @classmethod
    def cls_layer(cls, head) -> Optional[str]:
        """The name of ``head``'s classification layer; None if unknown."""
        for name in cls.cls_layers:
            if isinstance(getattr(head, name, None), nn.Module):
                return name
        return None

    @classmethod
    def mismatch(cls, model) -> Optional[str]:
        recipe = cls.recipe()
        reason = cls._head_mismatch(
            model, recipe, f'a dense head post-processed by mmdet '
            f'{recipe.__name__}')
        if reason is not None:
            return reason
        head = model.bbox_head
        changed = overridden(head, recipe, cls.post_methods)
        if changed:
            return (f'needs {recipe.__name__}\'s own post-processing; '
                    f'{type(head).__name__} overrides {changed}, which '
                    'may rewrite scores or boxes')
        if cls.cls_layer(head) is None:
            return (f'needs a classification layer named one of '
                    f'{list(cls.cls_layers)}; {type(head).__name__} has none')
        if getattr(head.loss_cls, 'custom_cls_channels', False):
            return 'needs a plain sigmoid or softmax classifier'
        return None

    @classmethod
    def provided_fields(cls, model) -> Tuple[str, ...]:
        return super(AnchorHeadProbe, cls).provided_fields(model)

    @classmethod
    def hint(cls, model, missing: Sequence[str]) -> str:
        return super(AnchorHeadProbe, cls).hint(model, missing)

    def _check_scores_kept(self) -> None:
        nms = (self._final_test_cfg() or {}).get('nms') or {}
        if 'soft' in str(nms.get('type', '')).lower():
            raise StrategyError(
                f'detector {describe_model(self.model)}: probes trace each '
                'detection to its prior by score, which soft-NMS rewrites '
                f'(test_cfg nms={dict(nms)}); use plain nms for the pool '
                'pass')

    # -- hooks -------------------------------------------------------------
    def _register_hooks(self) -> None:
        super(AnchorHeadProbe, self)._register_hooks()
        if not self.traced:
            return
        self._hook(self.model.bbox_head, 'head')
        layer = getattr(self.model.bbox_head,
                        self.cls_layer(self.model.bbox_head))
        modules = list(layer) if isinstance(layer, nn.ModuleList) else [layer]
        for i, module in enumerate(modules):

            def save(m, args, out, key=f'cls{i}'):
                self._store.setdefault(key, []).append((args[0], out))

            self._handles.append(module.register_forward_hook(save))

    def _cls_io(self) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """(input, output) of the classification layer per level."""
        calls = []
        i = 0
        while f'cls{i}' in self._store:
            calls += self._store[f'cls{i}']
            i += 1
        return calls

    def _feature_maps(self, num_levels: int) -> List[torch.Tensor]:
        return [x for x, _ in self._cls_io()[:num_levels]]

    # -- the head's arithmetic ----------------------------------------------
    def _final_scores(self, b: int) -> List[torch.Tensor]:
        """(M_l, C) final scores of the priors of every level of image
        ``b``, computed as the head's post-processing does."""
        head = self.model.bbox_head
        outs = self._store['head']
        cls_scores = outs[0]
        factors = outs[2] if len(outs) > 2 else [None] * len(cls_scores)
        scores = []
        for cls_score, factor in zip(cls_scores, factors):
            s = self._activate(cls_score[b].permute(1, 2, 0).reshape(
                -1, head.cls_out_channels))
            if factor is not None:
                s = s * factor[b].permute(1, 2, 0).reshape(-1, 1).sigmoid()
            scores.append(s)
        return scores

    def _activate(self, logits: torch.Tensor) -> torch.Tensor:
        """(M, C) foreground probabilities of (M, C or C + 1) logits."""
        if self.model.bbox_head.use_sigmoid_cls:
            return logits.sigmoid()
        return logits.softmax(-1)[:, :-1]

    def _distribution(self, b: int, level: np.ndarray,
                      idx: np.ndarray) -> torch.Tensor:
        """(K, C + 1) pre-rescoring distributions of the priors ``idx`` of
        ``level``s of image ``b`` (the classification layer's output)."""
        head = self.model.bbox_head
        outs = [o for _, o in self._cls_io()]
        dist = outs[0].new_zeros((len(level), head.num_classes + 1)).float()
        for lv in np.unique(level):
            mask = level == lv
            logits = outs[lv][b].permute(1, 2, 0).reshape(
                -1, head.cls_out_channels)[torch.as_tensor(idx[mask])]
            logits = logits.float()
            dist[torch.as_tensor(mask)] = (
                sigmoid_distribution(logits.sigmoid())
                if head.use_sigmoid_cls else logits.softmax(-1))
        return dist

    def _priors(self, sizes, ref: torch.Tensor) -> List[torch.Tensor]:
        """Priors of every level, as the head's post-processing makes
        them."""
        return self.model.bbox_head.prior_generator.grid_priors(
            sizes, dtype=ref.dtype, device=ref.device)

    def _decode_level(self, b: int, lv: int, idx: torch.Tensor,
                      priors: torch.Tensor, img_shape) -> torch.Tensor:
        """(K, 4) boxes (input pixels) of priors ``idx`` of level ``lv``."""
        head = self.model.bbox_head
        delta = self._store['head'][1][lv][b].permute(1, 2, 0).reshape(
            -1, head.bbox_coder.encode_size)[idx]
        return head.bbox_coder.decode(priors[idx], delta, max_shape=img_shape)

    # -- tracing -------------------------------------------------------------
    def _trace(self, b: int, sample):
        scores = self._final_scores(b)
        sizes = [s.shape[-2:] for s in self._store['head'][0]]
        final = torch.cat(scores).float()
        starts = np.concatenate([[0], np.cumsum([len(s) for s in scores])])

        def locate(rows):
            rows = rows.cpu().numpy()
            level = np.searchsorted(starts, rows, 'right') - 1
            return level, rows - starts[level]

        priors = []

        def decode(rows, classes):
            if not priors:  # only for ties (or recorded sources)
                priors.extend(self._priors(sizes, final))
            level, idx = locate(rows)
            out = final.new_zeros((len(level), 4))
            for lv in np.unique(level):
                mask = level == lv
                out[torch.as_tensor(mask)] = self._decode_level(
                    b, lv, torch.as_tensor(idx[mask]), priors[lv],
                    sample.metainfo['img_shape']).float()
            return rescale_boxes(out, sample)

        rows = self._match(final, sample, decode)
        if self.record_sources:
            self.sources[-1]['scores'] = final[rows]
        level, idx = locate(rows)
        dist = self._distribution(b, level, idx)
        feats = None
        if 'feats' in self.fields:
            feats = self._dense_feats(b, rows, locate, len(sizes))
        return dist, feats
