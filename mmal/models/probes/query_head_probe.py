"""Probe adapter of DETR-style query heads (mmdet ``DETRHead`` and its
subclasses: DETR, Conditional DETR, DAB-DETR, Deformable DETR, DINO)."""
from typing import Optional

from mmal.registry import PROBES
from mmal.strategies import StrategyError
from .base_probe import describe_model
from .class_distribution import sigmoid_distribution
from .score_tracing_probe import ScoreTracingProbe
from .tracing import rescale_boxes


@PROBES.register_module()
class QueryHeadProbe(ScoreTracingProbe):
    """Traces each detection to the decoder query it was predicted from.

    mmdet's ``DETRHead`` predicts from the last decoder layer only: a
    softmax head (DETR) keeps the queries with the highest
    ``max(softmax[:C])``; a sigmoid head (Deformable DETR, DINO,
    Conditional DETR, DAB-DETR) keeps the top ``max_per_img`` of
    queries x classes, so one query may give detections of several
    classes. No NMS runs and the score is the query's probability as is,
    so a detection of class ``c`` with score ``s`` comes from the query
    whose class ``c`` probability is ``s``
    (:func:`~mmal.models.probes.tracing.match_sources`; queries with equal
    probabilities are told apart by their boxes).

    Provides ``cls_probs``: for a softmax head the query's C + 1
    probabilities (DETR's "no object" class as background); for a sigmoid
    head the C probabilities and ``1 - max`` as background, normalised
    (:func:`sigmoid_distribution`). ``feats``: the query's hidden state
    after the last decoder layer (the input of ``fc_cls`` /
    ``cls_branches[-1]``), (D,) with D the head's ``embed_dims``; with
    box refinement or two-stage heads too it is the last layer's.

    Hooks: the input (decoder hidden states) and output (per-layer class
    logits, normalised cx, cy, w, h boxes) of ``bbox_head``.
    """

    priority = 20
    source = 'query'
    agnostic_boxes = True

    @classmethod
    def mismatch(cls, model) -> Optional[str]:
        from mmdet.models.dense_heads import DETRHead
        head = getattr(model, 'bbox_head', None)
        if not isinstance(head, DETRHead):
            return ('needs a DETR-style query head (an mmdet DETRHead, e.g. '
                    'DeformableDETRHead, DINOHead); bbox_head is '
                    f'{type(head).__name__}')
        return None

    def _register_hooks(self) -> None:
        super()._register_hooks()
        if not self.traced:
            return
        head = self.model.bbox_head
        self._hook(head, 'head')
        if 'feats' in self.fields:
            self._hook(head, 'hidden', pre=True)

    def _outputs(self, b: int):
        """Last decoder layer's (Q, C') logits and (Q, 4) normalised cx,
        cy, w, h boxes of image ``b``."""
        if 'head' not in self._store:
            raise StrategyError(
                f'probe: bbox_head of {describe_model(self.model)} did not '
                'run in the prediction pass')
        cls_scores, bbox_preds = self._store['head'][:2]
        return cls_scores[-1][b].float(), bbox_preds[-1][b].float()

    def _trace(self, b: int, sample):
        head = self.model.bbox_head
        logits, boxes = self._outputs(b)
        if head.loss_cls.use_sigmoid:
            fg = logits.sigmoid()
            dist = None
        else:
            dist = logits.softmax(-1)
            fg = dist[:, :head.num_classes]
        img_h, img_w = sample.metainfo['img_shape'][:2]

        def decode(rows, classes):
            from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
            out = bbox_cxcywh_to_xyxy(boxes[rows]) * boxes.new_tensor(
                [img_w, img_h, img_w, img_h])
            out[:, 0::2] = out[:, 0::2].clamp(min=0, max=img_w)
            out[:, 1::2] = out[:, 1::2].clamp(min=0, max=img_h)
            return rescale_boxes(out, sample)

        rows = self._match(fg, sample, decode)
        probs = sigmoid_distribution(fg[rows]) if dist is None else dist[rows]
        feats = None
        if 'feats' in self.fields:
            hidden = self._store['hidden']
            if not hidden:
                raise StrategyError(
                    f'probe: bbox_head of {describe_model(self.model)} got '
                    'its hidden states as keyword arguments; QueryHeadProbe '
                    'reads them from the positional input')
            feats = hidden[0][-1][b][rows]
        return probs, feats
